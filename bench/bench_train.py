"""Training-step benchmark: SASRec throughput against a FLOP-count bound, and FAME's cost relative to SASRec, in one run.

    python bench/bench_train.py --dataset ml-100k --experts 4 --steps 30 --repeats 3
    python bench/bench_train.py --dataset ml-100k --profile        # where a step's time goes (torch.profiler)
    python bench/bench_train.py --dataset ml-100k --baseline       # also the step as it was (F.cross_entropy, bernoulli dropout)

For SASRec and each FAME variant it times full training steps (forward, full-softmax loss, backward, Adam step) on
identical batches of training windows. The models' steps are interleaved (step j of every model, then step j + 1), so
a machine shared with other jobs slows them alike; each round gives a median step time per model, and the table reports
the median over rounds of the step times and of the ratios to SASRec.

The FLOP-count bound: the arithmetic of a step (projection and feed-forward GEMMs over all B x L positions, attention
over L x L per head, the full-softmax scores of the target positions against all items, forward and backward = 3x the
forward FLOPs) divided by the GEMM speed this machine reaches *in the same run* on the same shapes (timed just before
the steps). targets/s at that bound is what the step would reach if nothing but its GEMMs took time; the ratio
measured / bound says how close the step is to the hardware.

Memory of a step: CUDA: peak allocated bytes; CPU: bytes of the tensors autograd saves for backward.
Ratios are taken within one run on one machine; absolute numbers depend on the machine and its load (printed).
"""
import argparse, contextlib, os, statistics, time
import torch
import torch.nn.functional as F
from fame_nb.data import load_dataset
from fame_nb.seqdata import train_seqs
from fame_nb.train import make_config, ce_loss, build_model, get_device
from fame_nb.targets import make_windows
from fame_nb.scoring import saved_bytes
import fame_nb.moe as moe


def variants(experts):
    "Models to compare: SASRec, FAME w/o MoE (N=1), FAME with N experts."
    return [('sasrec', 1), ('fame', 1), ('fame', experts)]


def build(cfg, data, model, experts):
    return build_model(cfg.replace(model=model, **({'experts': experts} if model != 'sasrec' else {})), data)


def step_loss(model, x, y, baseline=False):
    "The training loss of one batch, as the training loop computes it (baseline: unchunked F.cross_entropy on full scores)."
    if baseline: return model.train_loss(x, y, lambda m, h, t: F.cross_entropy(m.score(h), t))['loss']
    return model.train_loss(x, y, ce_loss)['loss']


@contextlib.contextmanager
def torch_dropout(on=True):
    "Use torch's own F.dropout (bernoulli mask) and SDPA's dropout everywhere, as before the faster CPU dropout."
    if not on: yield; return
    fast, attn = moe.dropout, moe._attention_dropout
    moe.dropout = lambda x, p, training=True: F.dropout(x, p, training)
    moe._attention_dropout = lambda q, k, v, mask, p, causal: F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=p, is_causal=causal and mask is None, enable_gqa=True)
    try: yield
    finally: moe.dropout, moe._attention_dropout = fast, attn


def batches(cfg, data, steps):
    X, Y = make_windows(train_seqs(data), cfg.max_len, cfg.stride)
    g = torch.Generator().manual_seed(0)
    idx = [torch.randint(0, len(X), (cfg.batch_size,), generator=g) for _ in range(steps)]
    return [(X[i], Y[i]) for i in idx]


def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()


def interleaved_steps(models, bs, dev, warmup=3):
    "Median seconds per step of each (name, model, optimizer, baseline) entry, steps interleaved across models."
    times = {name: [] for name, *_ in models}
    for j, (x, y) in enumerate(bs):
        x, y = x.to(dev), y.to(dev)
        for name, m, opt, base in models:
            with torch_dropout(base):
                sync(dev); t0 = time.perf_counter()
                loss = step_loss(m, x, y, base); opt.zero_grad(); loss.backward(); opt.step()
                sync(dev)
            if j >= warmup: times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def step_memory(model, bs, dev, baseline=False):
    "Bytes held for backward by one training step (unique storages saved by autograd); on CUDA, peak allocated bytes."
    model.to(dev).train()
    x, y = bs[0][0].to(dev), bs[0][1].to(dev)
    if dev.type == 'cuda':
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        step_loss(model, x, y, baseline).backward(); torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    return saved_bytes(lambda: step_loss(model, x, y, baseline).backward())


def step_flops(model, B, L, d, H, layers, N, n, V):
    "FLOPs of one training step (forward x 3): GEMMs over all B*L positions, attention, scores of the n targets vs V items."
    P = B * L
    block = {'linear': 12 * P * d * d, 'attention': 4 * B * L * L * d}
    f = {'linear': 0, 'attention': 0, 'scores': 2 * n * d * V}
    blocks = layers if model == 'sasrec' else layers - 1
    f['linear'] += blocks * block['linear']; f['attention'] += blocks * block['attention']
    if model == 'fame':
        f['linear'] += 2 * P * d * d * N + 4 * P * d * d + 2 * P * d * N * N + 2 * P * d * N + 6 * P * d * d // H + 2 * P * d * H + 2 * (V + 1) * d * d
        f['attention'] += 4 * B * L * L * d * N
    return {k: 3 * v for k, v in f.items()}


def gemm_rates(B, L, d, H, n, V, dev, reps=5):
    "GFLOP/s this machine reaches now on a step's GEMM shapes: projections, attention (batched), score blocks."
    def rate(fn, flops):
        fn(); sync(dev); t0 = time.perf_counter()
        for _ in range(reps): fn()
        sync(dev); return flops * reps / (time.perf_counter() - t0)
    a, w = torch.randn(B * L, d, device=dev), torch.randn(d, d, device=dev)
    q, k = torch.randn(B * H, L, d // H, device=dev), torch.randn(B * H, d // H, L, device=dev)
    rows = min(n, 512); h, X = torch.randn(rows, d, device=dev), torch.randn(V, d, device=dev)
    return {'linear': rate(lambda: a @ w, 2 * B * L * d * d), 'attention': rate(lambda: torch.bmm(q, k), 2 * B * H * L * L * (d // H)),
            'scores': rate(lambda: h @ X.T, 2 * rows * d * V)}


CATEGORIES = [('scores + CE', ('chunkedce', 'log_softmax', 'nll_loss', 'cross_entropy', 'logsumexp')),   # also everything inside them
              ('optimizer', ('optimizer.step', 'adam', '_foreach')),
              ('embedding', ('embedding',)),
              ('dropout RNG', ('bernoulli', 'uniform', 'random_', 'aten::rand', 'aten::ge_')),
              ('attention', ('bmm', 'softmax', 'scaled_dot_product', 'masked_fill', 'baddbmm')),
              ('GEMM (linear)', ('addmm', 'aten::mm', 'linear', 'matmul')),
              ('data/copies', ('copy_', 'index', 'gather', 'nonzero', 'cat', 'stack', 'clone', 'contiguous')),
              ('elementwise', ('mul', 'add', 'sub', 'div', 'relu', 'threshold', 'where', 'fill', 'zero', 'layer_norm', 'sum', 'max'))]


def _category(names):
    "The category of an operator given its name and its ancestors' (outermost last)."
    for c, keys in CATEGORIES[:3]:                               # these own everything they call
        if any(k in n for n in names for k in keys): return c
    return next((c for c, keys in CATEGORIES[3:] if any(k in names[0] for k in keys)), 'other')


def profile(model, bs, dev, steps=6, baseline=False):
    "Share of a step's self CPU time per category (torch.profiler; an operator counts where its caller puts it), the top operators."
    from torch.profiler import profile as tprofile, ProfilerActivity
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with torch_dropout(baseline):
        for x, y in bs[:2]: loss = step_loss(model, x.to(dev), y.to(dev), baseline); opt.zero_grad(); loss.backward(); opt.step()
        with tprofile(activities=[ProfilerActivity.CPU]) as prof:
            for x, y in bs[2:2 + steps]: loss = step_loss(model, x.to(dev), y.to(dev), baseline); opt.zero_grad(); loss.backward(); opt.step()
    cats, total = {c: 0.0 for c, _ in CATEGORIES}, 0.0
    cats['other'] = 0.0
    for e in prof.events():
        names, p = [e.name.lower()], e.cpu_parent
        while p is not None: names.append(p.name.lower()); p = p.cpu_parent
        cats[_category(names)] += e.self_cpu_time_total; total += e.self_cpu_time_total
    top = sorted(((e.key, e.self_cpu_time_total) for e in prof.key_averages()), key=lambda e: -e[1])[:8]
    return {c: v / total for c, v in cats.items()}, top, total / steps / 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='ml-100k'); p.add_argument('--data-dir', default=None)
    p.add_argument('--dim', type=int, default=64); p.add_argument('--heads', type=int, default=2)
    p.add_argument('--layers', type=int, default=2); p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--max-len', type=int, default=50); p.add_argument('--experts', type=int, default=4)
    p.add_argument('--dropout', type=float, default=0.2)
    p.add_argument('--steps', type=int, default=20, help='timed steps per round (after 3 warm-up steps)')
    p.add_argument('--repeats', type=int, default=3, help='rounds; the table shows medians over rounds')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    p.add_argument('--baseline', action='store_true', help='also time the step as it was before: F.cross_entropy on full scores, bernoulli dropout')
    p.add_argument('--profile', action='store_true', help='only profile one SASRec and one FAME step (torch.profiler)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    cfg = make_config('sasrec', dataset=args.dataset, data_dir=args.data_dir, dim=args.dim, heads=args.heads, layers=args.layers,
                      batch_size=args.batch_size, max_len=args.max_len, device=args.device, dropout=args.dropout)
    data = load_dataset(args.dataset, args.data_dir)
    dev = get_device(args.device)
    bs = batches(cfg, data, args.steps + 3)
    load = os.getloadavg() if hasattr(os, 'getloadavg') else (float('nan'),) * 3
    print(f"{data.name}: {data.n_items:,} items; d={args.dim}, H={args.heads}, layers={args.layers}, batch={args.batch_size}, "
          f"max_len={args.max_len}, dropout={args.dropout}, device={dev}, threads={torch.get_num_threads()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    if args.profile:
        for model, n, base in [(m, n, b) for m, n in [('sasrec', 1), ('fame', args.experts)] for b in ([True, False] if args.baseline else [False])]:
            m = build(cfg, data, model, n).to(dev).train()
            shares, top, ms = profile(m, bs, dev, baseline=base)
            print(f"\n{model}{f' N={n}' if model == 'fame' else ''}{' (before)' if base else ''}: {ms:.0f} ms of self CPU time per step")
            for c, v in sorted(shares.items(), key=lambda kv: -kv[1]): print(f"  {c:<15}{v:>7.1%}")
            print('  top operators: ' + ', '.join(f"{k} {t / 1e3 / 6:.1f} ms" for k, t in top))
        return
    entries = [(f"{model}{f' N={n}' if model == 'fame' else ''}", model, n, False) for model, n in variants(args.experts)]
    if args.baseline: entries = [('sasrec (before)', 'sasrec', 1, True)] + entries + [(f'fame N={args.experts} (before)', 'fame', args.experts, True)]
    models = []
    for name, model, n, base in entries:
        m = build(cfg, data, model, n).to(dev).train()
        models.append((name, m, torch.optim.Adam(m.parameters(), lr=1e-3), base))
    n_tgt = statistics.mean(int((y > 0).sum()) for _, y in bs[3:])
    rounds, rates = [], []
    for r in range(args.repeats):
        rates.append(gemm_rates(args.batch_size, args.max_len, args.dim, args.heads, int(n_tgt), data.n_items, dev))
        rounds.append(interleaved_steps(models, bs, dev))
    med = lambda xs: statistics.median(xs)
    sec = {name: med([rd[name] for rd in rounds]) for name, *_ in models}
    ratio = {name: med([rd[name] / rd['sasrec'] for rd in rounds]) for name, *_ in models}
    rate = {k: med([rt[k] for rt in rates]) for k in rates[0]}
    mem = {name: step_memory(m, bs, dev, base) for name, m, _, base in models}
    print(f"{n_tgt:,.0f} targets per step (of {args.batch_size * args.max_len:,} positions); "
          f"GEMM speed now: projections {rate['linear'] / 1e9:.1f}, attention {rate['attention'] / 1e9:.1f}, "
          f"scores {rate['scores'] / 1e9:.1f} GFLOP/s; medians over {args.repeats} rounds of {args.steps} steps")
    print(f"{'model':<20}{'ms/step':>9}{'targets/s':>11}{'GFLOP/step':>12}{'bound t/s':>11}{'of bound':>10}{'time ratio':>12}{'act. MiB':>10}")
    for name, model, n, base in entries:
        fl = step_flops(model, args.batch_size, args.max_len, args.dim, args.heads, args.layers, n, n_tgt, data.n_items)
        bound_sec = sum(fl[k] / rate[k] for k in fl)
        tps = n_tgt / sec[name]
        print(f"{name:<20}{sec[name] * 1e3:>9.1f}{tps:>11,.0f}{sum(fl.values()) / 1e9:>12.2f}{n_tgt / bound_sec:>11,.0f}"
              f"{tps * bound_sec / n_tgt:>10.0%}{ratio[name]:>12.2f}{mem[name] / 2**20:>10.1f}")


if __name__ == '__main__': main()
