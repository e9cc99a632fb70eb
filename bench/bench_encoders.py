"""Training cost and memory of GRU4Rec, FMLP-Rec and Mamba4Rec relative to SASRec, and of the Mamba scan variants.

    OMP_NUM_THREADS=1 python bench/bench_encoders.py --dataset ml-100k            # both tables
    OMP_NUM_THREADS=1 python bench/bench_encoders.py --only models                # the model table only

Table 1 (models, default options of each, `--batch-size` 256, `--max-len` 50):
- `step`: one training step (forward, full-softmax CE on every target position, backward, Adam) on the *same* batches of
  training windows for every model, so the ratio is the encoders' cost on identical work;
- `epoch`: one training epoch as `fit` runs it, over the model's own targets (FMLP-Rec's one target per prefix means
  ~30x more, smaller-loss examples than the windows of the causal models);
- `eval`: one full-ranking validation pass over all users;
- `memory`: bytes autograd keeps for the backward of one step on the identical batch (CPU; on CUDA, the peak allocated).
Mamba4Rec appears with each scan, so its cost before (mambapy's parallel scan, `--scan parallel`) and after (the default)
reads off the same table.

Table 2 (one Mamba block, forward + backward, on a 256 x 50 x 64 batch): the scan implementations and layouts tried.

Times are CPU seconds of this process (`time.process_time`, robust to other processes on a shared machine when
running one thread) on CPU, wall seconds on CUDA; each is the best of `--repeat` runs; ratios are within one run.
"""
import argparse, math, time
import torch
import torch.nn.functional as F
from fame_nb.data import load_dataset, train_seqs
from fame_nb.metrics import evaluate
from fame_nb.train import make_config, ce_loss, build_model, get_device
from fame_nb.targets import make_windows, make_targets
from fame_nb.encoders import MaskedMamba, selective_scan
from mambapy.mamba import MambaBlock, MambaConfig

MODELS = [('sasrec', {}), ('gru4rec', {}), ('fmlprec', {}), ('mamba4rec', {'scan': 'parallel'}),
          ('mamba4rec', {'scan': 'sequential'}), ('mamba4rec', {'scan': 'auto'})]

def clock(dev):
    "Seconds: this process's CPU time on CPU, wall time (after a sync) on CUDA."
    if dev.type == 'cuda': torch.cuda.synchronize(); return time.perf_counter()
    return time.process_time()

def best(f, dev, repeat, warmup=True):
    "Best time of `repeat` calls of f() (after one warm-up call, which also compiles, if `warmup`)."
    if warmup: f()
    ts = []
    for _ in range(repeat):
        t0 = clock(dev); f(); ts.append(clock(dev) - t0)
    return min(ts)

def step_fn(model, batches, dev):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def run():
        for x, y in batches:
            loss = model.train_loss(x.to(dev), y.to(dev), ce_loss)['loss']
            opt.zero_grad(); loss.backward(); opt.step()
    return run

def epoch_fn(model, data, cfg, dev):
    T = make_targets(model, train_seqs(data), cfg, generator=torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    def run():
        perm = torch.randperm(len(T), generator=torch.Generator().manual_seed(0))
        for i in range(0, len(T), cfg.batch_size):
            x, y = (t.to(dev) for t in T.batch(perm[i:i + cfg.batch_size]))
            loss = model.train_loss(x, y, ce_loss)['loss']
            opt.zero_grad(); loss.backward(); opt.step()
    return run, len(T), math.ceil(len(T) / cfg.batch_size)

def saved_bytes(f, dev):
    "Bytes autograd saves for the backward of f() (unique storages; CUDA: peak allocated bytes above the start)."
    if dev.type == 'cuda':
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
        f().backward(); torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    seen = {}
    def pack(t):
        st = t.untyped_storage(); seen[st.data_ptr()] = st.nbytes(); return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): out = f()
    out.backward()
    return sum(seen.values())

def model_table(args, data, dev):
    base = make_config('sasrec', dataset=args.dataset, batch_size=args.batch_size, max_len=args.max_len, device=args.device)
    X, Y = make_windows(train_seqs(data), base.max_len, base.stride)
    g = torch.Generator().manual_seed(0)
    batches = [(X[i], Y[i]) for i in (torch.randint(0, len(X), (base.batch_size,), generator=g) for _ in range(args.steps))]
    rows = []
    for name, kw in MODELS:
        cfg = base.replace(model=name, **kw)
        torch.manual_seed(0); model = build_model(cfg, data).to(dev).train()
        step = best(step_fn(model, batches, dev), dev, args.repeat) / len(batches)
        run, n_ex, n_steps = epoch_fn(model, data, cfg, dev)
        epoch = best(run, dev, 1, warmup=False)                          # the step timing above warmed up (and compiled)
        ev = best(lambda: evaluate(model, data, 'valid', batch_size=cfg.eval_batch_size, max_len=cfg.max_len, device=dev), dev, 1, warmup=False)
        x, y = batches[0][0].to(dev), batches[0][1].to(dev)
        mem = saved_bytes(lambda: model.train_loss(x, y, ce_loss)['loss'], dev)
        label = name + (f" ({kw['scan']} scan)" if 'scan' in kw else '')
        rows.append(dict(model=label, targets=model.targets, examples=n_ex, steps=n_steps, step=step, epoch=epoch, eval=ev, mem=mem))
        print(f"  {label}: {step * 1e3:.0f} ms/step, epoch {epoch:.1f} s ({n_steps} steps), eval {ev:.1f} s, {mem / 2**20:.0f} MiB", flush=True)
    b = rows[0]
    print(f"\n{'model':<30}{'targets':>8}{'steps/epoch':>12}{'ms/step':>9}{'step ×':>8}{'epoch s':>9}{'epoch ×':>9}"
          f"{'eval s':>8}{'eval ×':>8}{'MiB':>7}{'mem ×':>7}")
    for r in rows:
        print(f"{r['model']:<30}{r['targets']:>8}{r['steps']:>12}{r['step'] * 1e3:>9.0f}{r['step'] / b['step']:>8.2f}{r['epoch']:>9.1f}"
              f"{r['epoch'] / b['epoch']:>9.2f}{r['eval']:>8.2f}{r['eval'] / b['eval']:>8.2f}{r['mem'] / 2**20:>7.0f}{r['mem'] / b['mem']:>7.2f}")
    return rows

class Materialised(torch.autograd.Function):
    "The scan with a hand-written backward on materialised time-major [L, B, E, N] tensors (a layout tried and dropped)."
    @staticmethod
    def forward(ctx, x, dt, A, B, C):
        xt, dtt, Bt, Ct = (t.transpose(0, 1).contiguous() for t in (x, dt, B, C))
        dA, u = torch.exp(dtt[..., None] * A), dtt * xt
        hs = u[..., None] * Bt[:, :, None, :]
        for t in range(1, len(hs)): hs[t].addcmul_(dA[t], hs[t - 1])
        ctx.save_for_backward(xt, dtt, A, Bt, Ct, dA, hs, u)
        return torch.einsum('lben,lbn->lbe', hs, Ct).transpose(0, 1)
    @staticmethod
    def backward(ctx, gy):
        xt, dtt, A, Bt, Ct, dA, hs, u = ctx.saved_tensors
        gy = gy.transpose(0, 1).contiguous()
        gC = torch.einsum('lben,lbe->lbn', hs, gy)
        gh = gy[..., None] * Ct[:, :, None, :]
        for t in range(len(gh) - 2, -1, -1): gh[t].addcmul_(dA[t + 1], gh[t + 1])
        g = (dA[1:] * gh[1:]).mul_(hs[:-1])
        gdt = torch.zeros_like(dtt); gdt[1:] = (g * A).sum(-1)
        gA = torch.einsum('lben,lbe->en', g, dtt[1:])
        gu, gB = torch.einsum('lben,lbn->lbe', gh, Bt), torch.einsum('lben,lbe->lbn', gh, u)
        return (gu * dtt).transpose(0, 1), (gdt + gu * xt).transpose(0, 1), gA, gB.transpose(0, 1), gC.transpose(0, 1)

def chunked_parallel(x, dt, A, B, C, chunk=32):
    "mambapy's parallel scan on batch chunks (smaller B x L x E x N tensors)."
    return torch.cat([selective_scan(x[i:i + chunk], dt[i:i + chunk], A, B[i:i + chunk], C[i:i + chunk], scan='parallel')
                      for i in range(0, len(x), chunk)])

class Block(MaskedMamba):
    "MaskedMamba with a pluggable scan function (for the table of variants)."
    fn = None
    def forward(self, x, pad=None):
        u, dt, B, C, z = self.ssm_inputs(x, pad)
        y = self.fn(u, F.softplus(self.dt_proj(dt)), -torch.exp(self.A_log.float()), B, C)
        return self.out_proj((y + self.D * u) * F.silu(z))

def scan_table(args, dev):
    B, L, d = args.batch_size, args.max_len, 64
    x = torch.randn(B, L, d, device=dev, requires_grad=True)
    pad = torch.zeros(B, L, dtype=torch.bool, device=dev)
    variants = [
        ('mambapy MambaBlock, parallel scan (pscan)', lambda: MambaBlock(MambaConfig(d_model=d, n_layers=1, d_state=32, expand_factor=2, d_conv=4)), None),
        ('mambapy MambaBlock, sequential mode', lambda: MambaBlock(MambaConfig(d_model=d, n_layers=1, d_state=32, expand_factor=2, d_conv=4, pscan=False)), None),
        ('parallel scan in batch chunks of 32', Block, chunked_parallel),
        ('materialised [L,B,E,N], hand-written backward', Block, Materialised.apply),
        ("step-wise, hand-written backward (scan='sequential')", Block, lambda *a: selective_scan(*a, scan='sequential')),
        ("  + steps fused by torch.compile (scan='compiled')", Block, lambda *a: selective_scan(*a, scan='compiled')),
    ]
    sas = torch.nn.TransformerEncoderLayer(d, 2, d, dropout=0.0, batch_first=True).to(dev)
    ref = best(lambda: sas(x).sum().backward(), dev, args.repeat)
    mem_ref = saved_bytes(lambda: sas(x).sum(), dev)
    rows = [('nn.TransformerEncoderLayer (reference)', ref, mem_ref)]
    for name, make, fn in variants:
        torch.manual_seed(0); blk = (make() if fn is None else make(d, 32, 4, 2)).to(dev)
        if fn is not None: blk.fn = fn
        f = (lambda: blk(x).sum()) if fn is None else (lambda: blk(x, pad).sum())
        sec = best(lambda: f().backward(), dev, args.repeat)
        rows.append((name, sec, saved_bytes(f, dev)))
        print(f"  {name}: {sec:.3f} s", flush=True)
    print(f"\n{'one Mamba block, fwd + bwd, ' + f'{B}x{L}x{d}':<50}{'s':>8}{'× TF layer':>12}{'saved MiB':>11}")
    for name, sec, mem in rows: print(f"{name:<50}{sec:>8.3f}{sec / ref:>12.1f}{mem / 2**20:>11.0f}")
    return rows

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='ml-100k'); p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--max-len', type=int, default=50); p.add_argument('--steps', type=int, default=5)
    p.add_argument('--repeat', type=int, default=3); p.add_argument('--device', default='cpu')
    p.add_argument('--only', choices=('models', 'scans'), default=None)
    p.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    args = p.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    data = load_dataset(args.dataset)
    print(f"{data.name}: {data.n_items:,} items, {len(data.seqs):,} users; batch {args.batch_size}, max_len {args.max_len}, "
          f"device {dev}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    if args.only != 'scans': model_table(args, data, dev)
    if args.only != 'models': print(); scan_table(args, dev)

if __name__ == '__main__': main()
