"""Does a warm start of FAME's new modules avoid the drop at the start of fine-tuning (§4.4.2)?

    python bench/finetune_init.py --pretrained RUN [--variants default ffn0 gate0 ffn0+gate0 ffn0+gate0+ln] [--epochs 200]

RUN is a finished `fame-nb train --model sasrec` run folder. FAME is built from it with `fame_from_sasrec` (experts
and seed from --experts / --seed), then, per variant, some of the freshly initialised parts are set so that the facet
layer starts closer to SASRec:

- `ffn0`: FFN's output layer is zero, so FFN' starts as the identity (its residual);
- `gate0`: the gate's weights and bias are zero, so every head starts with gate 1/H;
- `ln`: the per-head output LayerNorm starts from SASRec's final LayerNorm (mean of its H slices) times H, so that the
  gated scores start on SASRec's scale.

Each variant is evaluated on validation before fine-tuning, then fine-tuned with the run's options (early stopping on
validation NDCG@10); the script prints validation NDCG@10 at start and per epoch, the best epoch and the test metrics.
"""
import argparse, json
import torch
from fame_nb.data import load_dataset
from fame_nb.metrics import evaluate
from fame_nb.model import fame_from_sasrec
from fame_nb.train import config_from_dict, fit
from fame_nb.fame_train import load_pretrained_sasrec

def warm(fame, sas, variant: str):
    "Apply the warm-start parts named in `variant` ('default' or '+'-joined 'ffn0', 'gate0', 'ln') to `fame`, in place."
    parts = set(variant.split('+')) - {'default'}
    if parts - {'ffn0', 'gate0', 'ln'}: raise SystemExit(f"--variants: unknown part(s) {sorted(parts - {'ffn0', 'gate0', 'ln'})} in {variant!r}")
    f, H = fame.facet, fame.heads
    with torch.no_grad():
        if 'ffn0' in parts: f.ffn.w2.weight.zero_(); f.ffn.w2.bias.zero_()
        if 'gate0' in parts: f.gate.weight.zero_(); f.gate.bias.zero_()
        if 'ln' in parts:
            f.out_norm.weight.copy_(H * sas.last_norm.weight.view(H, f.d).mean(0))
            f.out_norm.bias.copy_(H * sas.last_norm.bias.view(H, f.d).mean(0))
    return fame

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pretrained', required=True, metavar='RUN', help='finished SASRec run folder')
    p.add_argument('--variants', nargs='+', default=['default', 'ffn0', 'gate0', 'ffn0+gate0', 'ffn0+gate0+ln'])
    p.add_argument('--experts', type=int, default=4)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--epochs', type=int, default=200)
    p.add_argument('--data-dir', default=None)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rec = json.load(open(f'{a.pretrained}/config.json'))
    cfg = config_from_dict(rec)
    cfg = cfg.replace(model='fame', experts=a.experts, seed=a.seed, epochs=a.epochs, data_dir=a.data_dir or cfg.data_dir)
    data = load_dataset(cfg.dataset, cfg.data_dir, cfg.min_count)
    sas = load_pretrained_sasrec(cfg, data, a.pretrained)
    ex = not cfg.keep_history
    print(f"SASRec valid NDCG@10 {evaluate(sas.eval(), data, 'valid', exclude_history=ex)['NDCG@10']:.4f}")
    for v in a.variants:
        fame = warm(fame_from_sasrec(sas, cfg.experts, cfg.expert_init, cfg.item_proj_init, seed=cfg.seed), sas, v)
        v0 = evaluate(fame.eval(), data, 'valid', exclude_history=ex)['NDCG@10']
        fame, h = fit(fame, data, cfg.replace(), progress=False, stage='finetune', lr=cfg.finetune_lr)
        t = evaluate(fame.eval(), data, 'test', exclude_history=ex)
        b = int(h['valid_NDCG@10'].idxmax())
        print(f"{v}: valid NDCG@10 at start {v0:.4f}, per epoch {h['valid_NDCG@10'].round(4).tolist()}")
        print(f"{v}: best valid {h['valid_NDCG@10'][b]:.4f} at epoch {b + 1} of {len(h)}; test HR@10 {t['HR@10']:.4f} "
              f"NDCG@10 {t['NDCG@10']:.4f} NDCG@20 {t['NDCG@20']:.4f}", flush=True)

if __name__ == '__main__': main()
