"""FamouSRec's cost, as ratios measured in one run: training step time and memory against SASRec and against the sum of
its experts' own costs, the share of each auxiliary loss, and top-1 inference against dense inference.

    OMP_NUM_THREADS=1 python bench/bench_famousrec.py                                   # ML-100K, the default experts
    OMP_NUM_THREADS=1 python bench/bench_famousrec.py --experts sa,gru,mlp --repeat 5
    python bench/bench_famousrec.py --device cuda --batch-size 1024 --dataset beauty     # on a GPU

What each row is (all on the *same* batches of one-target-per-prefix training examples, `--batch-size` x `--max-len`):
- `expert <kind>`: the expert alone, as its own model: FamouSRec's embedding (Eq. 1) -> the expert -> full-softmax CE at the
  last position (what FamouSRec computes per expert, without router or auxiliary losses). Their sum is the goal's base;
  like FamouSRec's experts, each runs on the batch's rows grouped by length with the padding trimmed (`run_experts`);
- `sasrec`: the registered SASRec (2 blocks) on the same examples (its `train_loss`);
- `famousrec` rows, each adding one part: the router and the gate (`router`: λ = μ = γ = 0), + L_bal, + L_al, + L_spe
  with `--spe-pairs` s sampled mismatched pairs per user (s = 1, 2, ...) and with all K(K-1) pairs (the paper's L_spe);
- `full width`: FamouSRec's default step with `--full-width` (every expert on the whole window), and the trimmed step's
  ratio to it, also for an epoch;
- `step`: one training step (forward, backward, Adam); `memory`: bytes autograd keeps for the backward of one step
  (CPU; on CUDA the peak allocated memory of the step);
- inference: full-ranking scores of `--eval-batch-size` users, top-1 routing (`infer_topk=1`: each user runs one expert)
  against dense routing (`infer_topk=K`: every expert on every user), and the router alone.

Times are CPU seconds of this process (`time.process_time`, robust to other processes on a shared machine when running one
thread) on CPU, wall seconds after a synchronise on CUDA; each is the best of `--repeat` runs after a warm-up.
"""
import argparse, time
import torch
import torch.nn as nn
from fame_nb.data import load_dataset, train_seqs, split_inputs
from fame_nb.metrics import pad_left
from fame_nb.train import make_config, ce_loss, build_model, get_device
from fame_nb.targets import make_targets
from fame_nb.encoders import make_encoder
from fame_nb.famousrec import FamouSRec, FamouSRecOptions, FamousEmbedding, expert_kinds, run_experts

def clock(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(); return time.perf_counter()
    return time.process_time()

def best(f, dev, repeat):
    "Best time of `repeat` calls of f() after one warm-up call (which also compiles)."
    f(); ts = []
    for _ in range(repeat):
        t0 = clock(dev); f(); ts.append(clock(dev) - t0)
    return min(ts)

class ExpertAlone(nn.Module):
    "One expert as its own model: FamouSRec's embedding -> the expert -> CE at the last position."
    targets = 'prefix'
    def __init__(self, kind, n_items, max_len, o: FamouSRecOptions):
        super().__init__()
        self.embedding = FamousEmbedding(n_items, o.dim, max_len, o.dropout)
        self.enc = make_encoder(kind, o.dim, max_len, layers=o.layers, dropout=o.dropout, **o.expert_options(kind))
    def item_table(self): return self.embedding.item_emb.weight
    def score(self, h):
        s = h @ self.item_table().T; s[..., 0] = float('-inf'); return s
    def train_loss(self, x, y, rec_loss):
        h, pad = self.embedding(x)
        i0 = torch.zeros(len(x), dtype=torch.long, device=x.device)          # one expert, one band: FamouSRec's grouped, trimmed run
        out = run_experts(nn.ModuleList([self.enc]), h[:, None], pad, torch.arange(len(x), device=x.device), i0, i0)
        return {'loss': rec_loss(self, out, y[:, -1])}

def saved_bytes(f):
    "Bytes of the distinct tensors autograd saves for the backward while f() runs."
    seen = {}
    def pack(t):
        try: seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        except Exception: pass
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): out = f()
    return sum(seen.values()), out

def step_cost(model, batches, dev, repeat):
    "(seconds per step, memory per step) of `model` on `batches`."
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def run():
        for x, y in batches:
            loss = model.train_loss(x, y, ce_loss)['loss']
            opt.zero_grad(); loss.backward(); opt.step()
    secs = best(run, dev, repeat) / len(batches)
    x, y = batches[0]
    if dev.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        loss = model.train_loss(x, y, ce_loss)['loss']; loss.backward(); opt.zero_grad(set_to_none=True)
        mem = torch.cuda.max_memory_allocated() - base
    else:
        mem, parts = saved_bytes(lambda: model.train_loss(x, y, ce_loss)); parts['loss'].backward(); opt.zero_grad(set_to_none=True)
    return secs, mem

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', default='ml-100k'); p.add_argument('--experts', default='sa,gru,mlp,mamba')
    p.add_argument('--batch-size', type=int, default=256); p.add_argument('--eval-batch-size', type=int, default=512)
    p.add_argument('--max-len', type=int, default=50); p.add_argument('--steps', type=int, default=3, help='batches per timing')
    p.add_argument('--repeat', type=int, default=3); p.add_argument('--device', default='cpu')
    p.add_argument('--spe-pairs', type=int, nargs='*', default=[1, 2], help='sampled mismatched pairs per user to measure')
    a = p.parse_args()
    dev = get_device(a.device)
    data = load_dataset(a.dataset)
    kinds = expert_kinds(a.experts); K = len(kinds)
    torch.manual_seed(0)
    base = make_config('famousrec', experts=a.experts, max_len=a.max_len)
    T = make_targets(FamouSRec(data.n_items, a.max_len, base.options), train_seqs(data), base)
    perm = torch.randperm(len(T), generator=torch.Generator().manual_seed(0))
    batches = [tuple(t.to(dev) for t in T.batch(perm[i * a.batch_size:(i + 1) * a.batch_size])) for i in range(a.steps)]
    print(f"{a.dataset}: {data.n_items} items; batches of {a.batch_size} prefixes x {a.max_len}; experts {a.experts}; "
          f"{dev.type}, {torch.get_num_threads()} thread(s); best of {a.repeat}")
    rows = {}
    for kind in dict.fromkeys(kinds):
        torch.manual_seed(0)
        rows[f'expert {kind}'] = step_cost(ExpertAlone(kind, data.n_items, a.max_len, base.options), batches, dev, a.repeat)
    experts_sum = tuple(sum(rows[f'expert {k}'][i] for k in kinds) for i in range(2))
    rows[f'sum of the {K} experts'] = experts_sum
    rows['sasrec'] = step_cost(build_model(make_config('sasrec', max_len=a.max_len), data), batches, dev, a.repeat)
    variants = [('famousrec: router only', dict(lam=0, mu=0, gamma=0)), ('  + L_bal', dict(lam=0, mu=0)), ('  + L_al (L_bal)', dict(lam=0)),
                *[(f'  + L_spe, {s} sampled pair{"s" if s > 1 else ""} (default)' if s == base.spe_pairs else f'  + L_spe, {s} sampled pair{"s" if s > 1 else ""}',
                   dict(spe_pairs=s)) for s in a.spe_pairs if s <= K * (K - 1)],
                (f'  + L_spe, all {K * (K - 1)} pairs' + (' (default)' if base.spe_pairs is None else ''), dict(spe_pairs=None))]
    for name, kw in variants:
        rows[name] = step_cost(build_model(base.replace(**kw), data), batches, dev, a.repeat)
    fam = [v for v in rows if v.endswith('(default)')][0]
    rows['famousrec default, --full-width'] = step_cost(build_model(base.replace(full_width=True), data), batches, dev, a.repeat)
    print(f"\ntraining step (forward + backward + Adam), {a.batch_size} examples")
    print(f"{'':44s} {'ms/step':>9s} {'vs experts':>10s} {'vs SASRec':>9s} {'memory MB':>10s} {'vs experts':>10s} {'vs SASRec':>9s}")
    for name, (s, m) in rows.items():
        print(f"{name:44s} {s * 1e3:9.1f} {s / experts_sum[0]:10.2f} {s / rows['sasrec'][0]:9.2f} {m / 2**20:10.1f} "
              f"{m / experts_sum[1]:10.2f} {m / rows['sasrec'][1]:9.2f}")
    # an epoch with each model's own targets: SASRec trains every position of sliding windows, FamouSRec one target per prefix
    sas_cfg = make_config('sasrec', max_len=a.max_len)
    n_win = len(make_targets(build_model(sas_cfg, data), train_seqs(data), sas_cfg))
    full = rows['famousrec default, --full-width']
    print(f"\ntrimmed windows grouped by length (default) vs --full-width: step {rows[fam][0] / full[0]:.2f}x the time, "
          f"{rows[fam][1] / full[1]:.2f}x the memory; mean real positions per example {float((batches[0][0] > 0).sum(1).float().mean()):.1f} "
          f"of {a.max_len} (first batch); epoch {-(-len(T) // a.batch_size) * full[0]:.1f} s at full width")
    print(f"\nan epoch with each model's own targets: SASRec {n_win:,} windows (every position a target) = {-(-n_win // a.batch_size)} steps, "
          f"{-(-n_win // a.batch_size) * rows['sasrec'][0]:.1f} s; FamouSRec {len(T):,} prefixes = {-(-len(T) // a.batch_size)} steps, "
          f"{-(-len(T) // a.batch_size) * rows[fam][0]:.1f} s ({fam.strip()}); ratio "
          f"{(-(-len(T) // a.batch_size) * rows[fam][0]) / (-(-n_win // a.batch_size) * rows['sasrec'][0]):.0f}x")
    # inference: top-1 against dense routing
    hist, _ = split_inputs(data, 'test')
    x = pad_left(hist[:a.eval_batch_size], a.max_len).to(dev)
    torch.manual_seed(0)
    m = build_model(base, data).to(dev).eval()
    with torch.no_grad(): m.router.gate.weight.normal_(0, 1)            # an untrained gate sends everyone to one expert
    with torch.no_grad():
        share = torch.bincount(m.explain(x)['expert'], minlength=K).float() / len(x)
        t1 = best(lambda: m.predict(x), dev, a.repeat)
        m.o.infer_topk = K; tK = best(lambda: m.predict(x), dev, a.repeat); m.o.infer_topk = 1
        tr = best(lambda: m.route(x), dev, a.repeat)
        per = {}
        for j, kind in enumerate(kinds):
            m.fixed_expert = j; per[kind] = best(lambda: m.predict(x), dev, a.repeat)
        m.fixed_expert = None
    print(f"\ninference, {len(x)} users (full ranking scores); top-1 routing shares " + ', '.join(f'{k} {s:.2f}' for k, s in zip(kinds, share.tolist())))
    print(f"dense (every expert on every user)  {tK * 1e3:8.1f} ms")
    print(f"top-1 (one expert per user)         {t1 * 1e3:8.1f} ms   {t1 / tK:.2f} of dense   (1/K = {1 / K:.2f})")
    print(f"router alone (embedding, bands, gate) {tr * 1e3:6.1f} ms   {tr / tK:.2f} of dense")
    expect = tr / tK + sum(share[j].item() * (per[k] - tr) for j, k in enumerate(kinds)) / tK
    print(f"expected top-1 = router + routed users' expert time: {expect:.2f} of dense; all users on one expert: "
          + ', '.join(f'{k} {v / tK:.2f}' for k, v in per.items()))

if __name__ == '__main__':
    main()
