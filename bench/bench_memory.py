"""Peak memory of full-catalogue scoring against the catalogue size: chunked vs unchunked, training loss and ranking.

    python bench/bench_memory.py                          # CPU: 10K, 100K, 1M items
    python bench/bench_memory.py --device cuda --rows 4096

On synthetic catalogues (random item tables of 10K, 100K and 1M items, d = 64) it measures the extra memory of
- loss: one training step of full-softmax CE for `--rows` target positions (forward + backward):
  unchunked = `F.cross_entropy(h @ X.T, y)`, chunked = `fame_nb.scoring.chunked_ce` with `--item-chunk` items per chunk;
- rank: ranking the target of `--users` users against every item with their history excluded:
  unchunked = full score rows (`exclude_items` + `rank_counts`), chunked = `fame_nb.metrics.chunked_rank_counts`.

CPU: each measurement runs in a fresh process and reports its peak resident memory above what it held before the step
(`ru_maxrss`); CUDA: `torch.cuda.max_memory_allocated` above the memory held before. A configuration whose unchunked
score matrix alone would exceed `--max-gb` is not run (its predicted size is printed instead).
"""
import argparse, json, os, resource, subprocess, sys, time
import numpy as np
import torch


def rss_bytes() -> int:
    "Current resident memory of this process (Linux /proc; else the peak so far)."
    try:
        with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except OSError: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(kind, chunked, V, rows, users, item_chunk, d, device):
    "Peak extra bytes of one loss step or one ranking pass (run in its own process on CPU)."
    import torch.nn.functional as F
    from fame_nb.scoring import chunked_ce
    from fame_nb.metrics import chunked_rank_counts, exclude_items, rank_counts
    dev = torch.device(device)
    g = torch.Generator().manual_seed(0)
    X = (torch.randn(V + 1, d, generator=g) * 0.1).to(dev).requires_grad_(kind == 'loss')
    if kind == 'loss':
        h = torch.randn(rows, d, generator=g).to(dev).requires_grad_(); y = torch.randint(1, V + 1, (rows,), generator=g).to(dev)
    else:
        q = torch.randn(users, d, generator=g).to(dev); t = torch.randint(1, V + 1, (users,), generator=g)
        hists = [np.random.default_rng(u).integers(1, V + 1, 50) for u in range(users)]
    def step():
        if kind == 'loss':
            if chunked: loss = chunked_ce(h, X, y, item_chunk)
            else:
                s = h @ X.T; s[:, 0] = float('-inf'); loss = F.cross_entropy(s, y)
            loss.backward()
        else:
            with torch.no_grad():
                if chunked: chunked_rank_counts(q, X, t, hists, item_chunk)
                else:
                    s = (q @ X.T).cpu(); exclude_items(s, hists); rank_counts(s, t)
    if dev.type == 'cuda':
        torch.cuda.synchronize(); base = torch.cuda.memory_allocated(); torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter(); step(); torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base, time.perf_counter() - t0
    base = rss_bytes()
    t0 = time.perf_counter(); step(); sec = time.perf_counter() - t0
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base, 0), sec


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--items', type=int, nargs='+', default=[10_000, 100_000, 1_000_000])
    p.add_argument('--rows', type=int, default=1024, help='target positions in the loss step (default 1024)')
    p.add_argument('--users', type=int, default=512, help='users ranked at once (the evaluation batch, default 512)')
    p.add_argument('--item-chunk', type=int, default=16384, help='items per chunk for the chunked runs (default 16384)')
    p.add_argument('--dim', type=int, default=64)
    p.add_argument('--device', default='cpu')
    p.add_argument('--max-gb', type=float, default=2.5, help='skip unchunked runs whose score matrix alone exceeds this (default 2.5)')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--one', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    if a.one:                                                 # a child process: one measurement, printed as JSON
        kind, chunked, V = a.one.split(':')
        print(json.dumps(measure(kind, chunked == '1', int(V), a.rows, a.users, a.item_chunk, a.dim, a.device))); return
    print(f"rows {a.rows} (loss), users {a.users} (ranking), d {a.dim}, item chunk {a.item_chunk}, device {a.device}; "
          f"peak memory above the step's inputs, MiB (seconds)")
    print(f"{'items':>10} {'loss unchunked':>18} {'loss chunked':>16} {'rank unchunked':>18} {'rank chunked':>16}")
    for V in a.items:
        cells = []
        for kind, n in (('loss', a.rows), ('rank', a.users)):
            for chunked in (0, 1):
                need = n * V * 4 / 2**30
                if not chunked and need > a.max_gb: cells.append(f"({need:.0f} GiB/matrix)"); continue
                if a.device == 'cpu':
                    cmd = [sys.executable, __file__, '--one', f'{kind}:{chunked}:{V}', '--rows', str(a.rows), '--users', str(a.users),
                           '--item-chunk', str(a.item_chunk), '--dim', str(a.dim), '--device', a.device] + (['--threads', str(a.threads)] if a.threads else [])
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    if r.returncode: cells.append('failed'); print(r.stderr[-500:], file=sys.stderr); continue
                    b, s = json.loads(r.stdout.strip().splitlines()[-1])
                else: b, s = measure(kind, bool(chunked), V, a.rows, a.users, a.item_chunk, a.dim, a.device)
                cells.append(f"{b / 2**20:,.0f} ({s:.2f}s)")
        print(f"{V:>10,} " + ' '.join(f"{c:>{w}}" for c, w in zip(cells, (18, 16, 18, 16))))


if __name__ == '__main__': main()
