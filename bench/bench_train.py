"""Training-step benchmark: SASRec throughput and FAME's cost relative to SASRec, on the same data and batches.

    python bench/bench_train.py --dataset ml-100k --experts 4 --steps 30

For SASRec and each FAME variant it times full training steps (forward, full-softmax loss, backward, Adam step)
on identical batches of training windows, and measures the memory of a step
(CUDA: peak allocated bytes; CPU: bytes of the tensors autograd saves for backward, which dominate a step's peak).
It prints target positions per second, the FAME/SASRec time ratio and the peak-memory ratio. Ratios are taken within
one run on one machine; absolute times depend on the machine and its load.
"""
import argparse, statistics, time
import torch
from fame_nb.data import load_dataset
from fame_nb.seqdata import train_seqs
from fame_nb.train import make_config, make_windows, ce_loss, build_model, get_device

def variants(experts):
    "Models to compare: SASRec, FAME w/o MoE (N=1), FAME with N experts."
    return [('sasrec', 1), ('fame', 1), ('fame', experts)]

def build(cfg, data, model, experts):
    return build_model(cfg.replace(model=model, **({'experts': experts} if model != 'sasrec' else {})), data)

def step_loss(model, x, y):
    "The training loss of one batch, as the training loop computes it."
    return model.train_loss(x, y, ce_loss)['loss']

def batches(cfg, data, steps):
    X, Y = make_windows(train_seqs(data), cfg.max_len, cfg.stride)
    g = torch.Generator().manual_seed(0)
    idx = [torch.randint(0, len(X), (cfg.batch_size,), generator=g) for _ in range(steps)]
    return [(X[i], Y[i]) for i in idx]

def time_steps(model, bs, dev, warmup=3):
    "Median seconds per training step and targets per step."
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for j, (x, y) in enumerate(bs):
        x, y = x.to(dev), y.to(dev)
        if dev.type == 'cuda': torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = step_loss(model, x, y); opt.zero_grad(); loss.backward(); opt.step()
        if dev.type == 'cuda': torch.cuda.synchronize()
        if j >= warmup: times.append(time.perf_counter() - t0)
    return statistics.median(times), float(sum(int((y > 0).sum()) for _, y in bs[warmup:]) / len(times))

def step_memory(model, bs, dev):
    "Bytes held for backward by one training step (unique storages saved by autograd); on CUDA, peak allocated bytes."
    model.to(dev).train()
    x, y = bs[0][0].to(dev), bs[0][1].to(dev)
    if dev.type == 'cuda':
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        step_loss(model, x, y).backward(); torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    seen = {}
    def pack(t):
        st = t.untyped_storage(); seen[st.data_ptr()] = st.nbytes(); return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): loss = step_loss(model, x, y)
    loss.backward()
    return sum(seen.values())

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='ml-100k'); p.add_argument('--data-dir', default=None)
    p.add_argument('--dim', type=int, default=64); p.add_argument('--heads', type=int, default=2)
    p.add_argument('--layers', type=int, default=2); p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--max-len', type=int, default=50); p.add_argument('--experts', type=int, default=4)
    p.add_argument('--steps', type=int, default=30); p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    cfg = make_config('sasrec', dataset=args.dataset, data_dir=args.data_dir, dim=args.dim, heads=args.heads, layers=args.layers,
                      batch_size=args.batch_size, max_len=args.max_len, device=args.device, dropout=0.2)
    data = load_dataset(args.dataset, args.data_dir)
    dev = get_device(args.device)
    bs = batches(cfg, data, args.steps)
    print(f"{data.name}: {data.n_items:,} items; d={args.dim}, H={args.heads}, L={args.layers}, batch={args.batch_size}, "
          f"max_len={args.max_len}, device={dev}, threads={torch.get_num_threads()}")
    rows = []
    for model, n in variants(args.experts):
        m = build(cfg, data, model, n)
        sec, tgt = time_steps(m, bs, dev)
        rows.append((f'{model}' + (f' N={n}' if model == 'fame' else ''), sec, tgt / sec, step_memory(m, bs, dev)))
    base_t, base_m = rows[0][1], rows[0][3]
    print(f"{'model':<14}{'ms/step':>10}{'targets/s':>12}{'time ratio':>12}{'act. MiB':>10}{'mem ratio':>11}")
    for name, sec, tps, mem in rows:
        print(f"{name:<14}{sec * 1e3:>10.1f}{tps:>12,.0f}{sec / base_t:>12.2f}{mem / 2**20:>10.1f}{mem / max(base_m, 1):>11.2f}")

if __name__ == '__main__': main()
