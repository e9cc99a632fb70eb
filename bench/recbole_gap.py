"""Why is this project's SASRec below RecBole's on ML-100K? Measured on VALIDATION NDCG@10, one factor at a time.

    OMP_NUM_THREADS=1 python bench/recbole_gap.py --out bench/results/recbole_gap [--seeds 42] [--only NAME ...]

RecBole 1.2.1 on this ML-100K split (5-core, leave-one-out, full ranking, CE, history items KEPT, d = 64) gave SASRec
test HR@10 .1262 / NDCG@10 .0608; this project's SASRec (--keep-history, defaults, seed 42) .1145 / .0546. The two
differ in three groups of choices, each a factor here:

- dropout: 0.2 (ours) or 0.5 (RecBole's hidden and attention dropout);
- training examples: sliding windows with every position a target, batch 256 (ours), or one target per prefix,
  batch 2048 (RecBole's sequential data and default train_batch_size; on CPU its cheap proxy, see VARIANTS);
- architecture: ours (the original SASRec block: LayerNorm'd queries, residual, ReLU feed-forward of width d, item
  embeddings scaled by sqrt(d), Xavier init, a last LayerNorm) or RecBole's (a BERT-style post-LayerNorm Transformer:
  LayerNorm on item + position embeddings, GELU feed-forward of width 4d = 256, N(0, 0.02) init, no scaling).
  RecBole's architecture is also run with each of its parts switched back (ReLU, width d, no embedding LayerNorm,
  Xavier init) to see which part matters.

Every variant is a registered model trained by this project's loop and evaluated by its code with --keep-history
(RecBole's protocol), so only the factor under study changes. Finished runs are reused (rerun the script to resume).
Writes <out>/recbole_gap.csv (valid and test metrics per run) and prints the table sorted by validation NDCG@10.
"""
import argparse
from dataclasses import dataclass
from pathlib import Path
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from fame_nb.core import check_int, check_float, check_choice, write_csv
from fame_nb.model import SeqRecModel
from fame_nb.train import register_model, make_config, train_run, run_status, read_json

@dataclass
class RecBoleSASRecOptions:
    "RecBole 1.2.1's SASRec (defaults = RecBole's), with each of its parts switchable."
    dim: int = 64                 # hidden_size
    heads: int = 2                # n_heads
    layers: int = 2               # n_layers
    dropout: float = 0.5          # hidden_dropout_prob and attn_dropout_prob
    inner: int = 256              # inner_size (feed-forward width)
    act: str = 'gelu'             # hidden_act: gelu or relu
    emb_norm: bool = True         # LayerNorm on item + position embeddings
    init: str = 'normal'          # normal (std 0.02, RecBole) or xavier (ours)
    prefix: bool = True           # one target per prefix (RecBole) or sliding windows with every position a target

    def __post_init__(self):
        check_int(self, 'dim', 'heads', 'layers', 'inner', lo=1); check_float(self, 'dropout', lo=0, hi=1, hi_open=True)
        check_choice(self, 'act', ('gelu', 'relu')); check_choice(self, 'init', ('normal', 'xavier'))

class RecBoleBlock(nn.Module):
    "Post-LayerNorm Transformer layer (RecBole's TransformerLayer): x = LN(x + Drop(Attn(x))); x = LN(x + Drop(FFN(x)))."
    def __init__(self, dim, heads, inner, dropout, act):
        super().__init__()
        self.heads, self.p = heads, dropout
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ln1, self.ln2 = nn.LayerNorm(dim, eps=1e-12), nn.LayerNorm(dim, eps=1e-12)
        self.w1, self.w2, self.drop = nn.Linear(dim, inner), nn.Linear(inner, dim), nn.Dropout(dropout)
        self.act = F.gelu if act == 'gelu' else F.relu

    def forward(self, x, mask):
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in self.qkv(x).chunk(3, -1))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.p if self.training else 0.0)
        x = self.ln1(x + self.drop(self.out(a.transpose(1, 2).flatten(2))))
        return self.ln2(x + self.drop(self.w2(self.act(self.w1(x)))))

class RecBoleSASRec(SeqRecModel):
    "SASRec as RecBole 1.2.1 builds it (see RecBoleSASRecOptions); left-padded input, causal mask, last position predicts."
    def __init__(self, n_items, max_len, o: RecBoleSASRecOptions):
        super().__init__()
        self.n_items, self.max_len, self.targets = n_items, max_len, 'prefix' if o.prefix else 'causal'
        self.item_emb = nn.Embedding(n_items + 1, o.dim, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, o.dim)
        self.emb_norm = nn.LayerNorm(o.dim, eps=1e-12) if o.emb_norm else nn.Identity()
        self.drop = nn.Dropout(o.dropout)
        self.blocks = nn.ModuleList(RecBoleBlock(o.dim, o.heads, o.inner, o.dropout, o.act) for _ in range(o.layers))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02) if o.init == 'normal' else nn.init.xavier_normal_(m.weight)
            if isinstance(m, nn.Linear): nn.init.zeros_(m.bias)
        with torch.no_grad(): self.item_emb.weight[0].zero_()

    @classmethod
    def from_options(cls, o, n_items, max_len): return cls(n_items, max_len, o)

    def forward(self, seqs):
        pad, L = seqs == 0, seqs.shape[1]
        x = self.drop(self.emb_norm(self.item_emb(seqs) + self.pos_emb.weight[-L:]))
        causal = torch.ones(L, L, dtype=torch.bool, device=seqs.device).tril()
        mask = ((causal & ~pad[:, None, :]) | torch.eye(L, dtype=torch.bool, device=seqs.device))[:, None]
        for b in self.blocks: x = b(x, mask)
        return x * (~pad)[..., None]

register_model('sasrec-rb', RecBoleSASRecOptions, RecBoleSASRec.from_options, help='RecBole-style SASRec (bench only)')

# name -> (model, options). RecBole trains one target per prefix with batches of 2048 targets (48 steps per epoch on
# ML-100K); ours trains windows (stride 25: each window adds ~25 targets) of 256 windows (~6,400 targets, 15 steps per
# epoch). True prefix training costs ~25x our epoch on CPU (200 s vs 6 s here), so the default set uses its cheap proxy:
# windows with stride 5 (every target sees 45-50 items of context, as a prefix of a long history does) in batches of 410
# windows (~2,050 targets per step, RecBole's step size); batch 80 keeps our windows but takes RecBole's step size and
# number of steps per epoch (~2,000 targets, ~48 steps). The true prefix variants run with --only (or on a GPU).
VARIANTS = {
    'ours (defaults)':                       ('sasrec', {}),
    'ours + dropout 0.5':                    ('sasrec', dict(dropout=0.5)),
    'ours + stride 5/batch 410':             ('sasrec', dict(stride=5, batch_size=410)),
    'ours + stride 5/batch 410 + dropout 0.5': ('sasrec', dict(stride=5, batch_size=410, dropout=0.5)),
    'recbole arch':                          ('sasrec-rb', dict(prefix=False)),
    'recbole arch + dropout 0.2':            ('sasrec-rb', dict(prefix=False, dropout=0.2)),
    'recbole arch + stride 5/batch 410':     ('sasrec-rb', dict(prefix=False, stride=5, batch_size=410)),
    'recbole arch, ReLU':                    ('sasrec-rb', dict(prefix=False, act='relu')),
    'recbole arch, FFN width 64':            ('sasrec-rb', dict(prefix=False, inner=64)),
    'recbole arch, no embedding LayerNorm':  ('sasrec-rb', dict(prefix=False, emb_norm=False)),
    'recbole arch, Xavier init':             ('sasrec-rb', dict(prefix=False, init='xavier')),
    'recbole (prefix/2048: all RecBole choices)': ('sasrec-rb', dict(batch_size=2048)),
    'ours + prefix/2048':                    ('sasrec', dict(targets='prefix', batch_size=2048)),
    'ours + prefix/2048 + dropout 0.5':      ('sasrec', dict(targets='prefix', batch_size=2048, dropout=0.5)),
    'ours + batch 80':                       ('sasrec', dict(batch_size=80)),
    'ours + prefix/256':                     ('sasrec', dict(targets='prefix')),
}                                            # (append new variants: a run's folder is named by its position here)
DEFAULT = [n for n in VARIANTS if 'prefix/' not in n]

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='bench/results/recbole_gap')
    p.add_argument('--seeds', type=int, nargs='+', default=[42])
    p.add_argument('--only', nargs='+', default=None, help='variant names (default: the CPU set, in order; the prefix/2048 ones cost ~25x)')
    p.add_argument('--epochs', type=int, default=300)           # RecBole's default epochs; early stopping (patience 10) ends runs
    p.add_argument('--device', default='cpu')
    a = p.parse_args(argv)
    out, rows = Path(a.out), []
    names = a.only or DEFAULT
    for seed in a.seeds:
        for i, name in enumerate(names):
            model, opts = VARIANTS[name]
            cfg = make_config(model, dataset='ml-100k', keep_history=True, seed=seed, epochs=a.epochs, patience=10,
                              out=str(out / 'runs'), device=a.device, **opts)
            rd = out / 'runs' / f'v{list(VARIANTS).index(name):02d}-seed{seed}'
            st = run_status(rd)['state'] if rd.is_dir() else 'missing'
            if st != 'finished':
                if st in ('interrupted', 'running'): train_run(None, resume=rd, progress=False)
                else:
                    import shutil; shutil.rmtree(rd, ignore_errors=True)
                    train_run(cfg, progress=False, run_name=rd.name)
            m, h = read_json(rd / 'metrics.json'), pd.read_csv(rd / 'history.csv')
            rows.append({'variant': name, 'seed': seed, 'model': model, **opts,
                         'valid_NDCG@10': m['valid']['NDCG@10'], 'valid_HR@10': m['valid']['HR@10'],
                         'test_NDCG@10': m['test']['NDCG@10'], 'test_HR@10': m['test']['HR@10'],
                         'best_epoch': int(h.loc[h['valid_NDCG@10'].idxmax(), 'epoch']), 'epochs': len(h),
                         'train_seconds': round(h.train_seconds.sum())})
            write_csv(out / 'recbole_gap.csv', pd.DataFrame(rows))
            print(f"{name}: valid NDCG@10 {rows[-1]['valid_NDCG@10']:.4f} (test {rows[-1]['test_NDCG@10']:.4f}, "
                  f"HR@10 {rows[-1]['test_HR@10']:.4f}; best epoch {rows[-1]['best_epoch']})", flush=True)
    df = pd.DataFrame(rows)
    # paired per-user differences against 'ours (defaults)' of the same seed (validation NDCG@10, mean over seeds)
    from fame_nb.compare import load_ranks, paired_test
    base = {sd: load_ranks(out / 'runs' / f'v00-seed{sd}')['valid'] for sd in a.seeds if (out / 'runs' / f'v00-seed{sd}' / 'metrics.json').is_file()}
    pt = []
    for name in names:
        rd = [out / 'runs' / f'v{list(VARIANTS).index(name):02d}-seed{sd}' for sd in base]
        if name == 'ours (defaults)' or not all((r / 'metrics.json').is_file() for r in rd): continue
        t = paired_test([load_ranks(r)['valid'] for r in rd], list(base.values()), 'NDCG@10')
        pt.append({'variant': name, 'valid NDCG@10 - ours': t['mean_diff'], 'p (paired t, per user)': t['p_ttest'], 'seeds': len(rd)})
    summary = df.groupby('variant', sort=False)[['valid_NDCG@10', 'valid_HR@10', 'test_NDCG@10', 'test_HR@10', 'best_epoch']].agg(['mean', 'std'])
    summary.columns = [f'{a} {b}' for a, b in summary.columns]
    summary = summary.join(df.groupby('variant', sort=False).seed.count().rename('seeds'))
    if pt: summary = summary.join(pd.DataFrame(pt).set_index('variant'))
    summary = summary.sort_values('valid_NDCG@10 mean', ascending=False)
    write_csv(out / 'recbole_gap_summary.csv', summary.reset_index())
    print(summary.to_string(float_format=lambda v: f'{v:.4f}'))

if __name__ == '__main__':
    main()
