"""SASRec and FAME epoch times and peak memory on Beauty and ML-1M, in float32 and bfloat16; then the same on 2 GPUs
with DistributedDataParallel when there are 2. Run through bench/gpu_check.sh (which sets PYTHONPATH to the repo root).

    FAME_NB_DATA=/path/to/data bash bench/gpu_check.sh                    # a GPU machine, about 3 minutes
    bash bench/gpu_check.sh --device cpu --tiny                           # the same path on CPU, tiny data, in seconds

Each configuration builds the untrained model (`fame` is FAME with N experts, timed without its SASRec pretraining) and
runs the training loop (`fame_nb.train.fit`) for `--epochs` epochs: shuffled training windows, chunked full-softmax CE,
Adam, then a full-ranking validation evaluation per epoch. It prints the training seconds of each epoch (the first
includes CUDA warm-up), the evaluation seconds per epoch, training targets per second, the peak GPU memory and the
validation NDCG@10 reached (after so few epochs it only shows training works, it is not a result).
"""
import argparse, importlib.util, json, os, subprocess, sys, time

NEEDED = ('numpy', 'pandas', 'safetensors', 'tqdm', 'fastcore', 'torch')


def check_packages():
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"gpu_check: this python3 lacks {', '.join(missing)}; install them (pip install {' '.join(missing)}) "
                 f"or run with PYTHON=/path/to/a/python that has them")


def datasets(args):
    "(label, dataset) pairs: Beauty and ML-1M (synthetic with --tiny)."
    return [('synthetic', 'synthetic')] if args.tiny else [('beauty', 'beauty'), ('ml-1m', 'ml-1m')]


def load(label, ds):
    "The dataset; ML-1M from its sequence file alone when the registered loader lacks a file (e.g. HetRec's directors)."
    from fame_nb.data import load_dataset
    from fame_nb.core import DataError
    try: return load_dataset(ds, cache=False), ds
    except DataError:
        path = os.path.join(os.environ.get('FAME_NB_DATA', ''), 'ml-1m', 'ML-1M.txt')
        if label != 'ml-1m' or not os.path.exists(path): raise
        return load_dataset(path, cache=False), path


def precisions(args, dev):
    import torch
    if dev.type == 'cuda' and not torch.cuda.is_bf16_supported(): return [('fp32', 'off'), ('fp16', 'fp16')]
    return [('fp32', 'off'), ('bf16', 'bf16')]


def run_one(label, dataset, data, model, prec, amp, args):
    "Train one configuration for --epochs epochs; its timings, peak memory and validation NDCG@10."
    import torch
    from fame_nb.train import make_config, build_model, fit, get_device
    from fame_nb.distributed import world_size
    small = dict(dim=16, max_len=20, batch_size=64) if args.tiny else {}
    cfg = make_config(model, dataset=dataset, epochs=args.epochs, patience=args.epochs, device=args.device, amp=amp,
                      dropout=0.5 if label == 'beauty' else 0.2, eval_batch_size=args.eval_batch_size,
                      **({'experts': args.experts} if model == 'fame' else {}), **small)
    dev = get_device(cfg.device)
    m = build_model(cfg, data)
    if dev.type == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    m, hist = fit(m, data, cfg, progress=False)
    if dev.type == 'cuda': torch.cuda.synchronize()
    total = time.perf_counter() - t0
    train = hist['train_seconds'].tolist()
    return {'dataset': label, 'model': model + (f' N={args.experts}' if model == 'fame' else ''), 'precision': prec,
            'processes': world_size(), 'epoch_s': [round(s, 2) for s in train], 'eval_s': round((total - sum(train)) / len(train), 2),
            'targets_per_s': round(float(hist['targets_per_second'].iloc[-1])),
            'peak_MiB': round(torch.cuda.max_memory_allocated(dev) / 2**20) if dev.type == 'cuda' else None,
            'valid_NDCG@10': round(float(hist['valid_NDCG@10'].iloc[-1]), 4)}


def show(rows):
    print(f"{'dataset':<10}{'model':<11}{'prec':<6}{'GPUs':>5}{'epoch s (1st, last)':>22}{'eval s':>8}{'targets/s':>11}{'peak MiB':>10}{'NDCG@10':>9}")
    for r in rows:
        ep = f"{r['epoch_s'][0]:.2f}, {r['epoch_s'][-1]:.2f}"
        print(f"{r['dataset']:<10}{r['model']:<11}{r['precision']:<6}{r['processes']:>5}{ep:>22}{r['eval_s']:>8.2f}"
              f"{r['targets_per_s']:>11,}{r['peak_MiB'] if r['peak_MiB'] is not None else '-':>10}{r['valid_NDCG@10']:>9.4f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda', help='cuda (default) or cpu')
    p.add_argument('--tiny', action='store_true', help='synthetic data and a tiny model: checks the script runs (CPU, seconds)')
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--experts', type=int, default=4)
    p.add_argument('--eval-batch-size', type=int, default=2048)
    p.add_argument('--ddp', type=int, default=None, metavar='P', help='processes for the distributed run (default: 2 when 2 GPUs, 0 on one GPU; 2 with --device cpu --tiny)')
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)     # one process of the distributed run (under torchrun)
    args = p.parse_args()
    check_packages()
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    if args.device == 'cpu': torch.set_num_threads(1)            # CPU check: one thread (and one per process in the distributed run)
    from fame_nb.distributed import init_distributed, is_main
    if args.device.startswith('cuda') and not torch.cuda.is_available(): sys.exit('gpu_check: no CUDA device here (use --device cpu --tiny to try the script on CPU)')
    if args.worker:                                           # under torchrun: the distributed runs, rank 0 prints JSON lines
        init_distributed(args.device)
        from fame_nb.train import get_device
        dev = get_device(args.device)
        for label, ds in datasets(args)[-1:]:
            data, ds = load(label, ds)
            for model in ('sasrec', 'fame'):
                prec, amp = precisions(args, dev)[-1]
                r = run_one(label, ds, data, model, prec, amp, args)
                if is_main(): print('RESULT ' + json.dumps(r), flush=True)
        return
    from fame_nb.train import get_device
    dev = get_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'
    print(f"torch {torch.__version__}, {name}, {torch.cuda.device_count()} GPU(s); {args.epochs} epochs per configuration; "
          f"data {os.environ.get('FAME_NB_DATA', '(FAME_NB_DATA unset)')}", flush=True)
    rows = []
    for label, ds in datasets(args):
        t0 = time.perf_counter(); data, ds = load(label, ds)
        print(f"{label}: {data.n_users:,} users, {data.n_items:,} items, {data.n_interactions:,} interactions (loaded in {time.perf_counter() - t0:.1f} s)", flush=True)
        for model in ('sasrec', 'fame'):
            for prec, amp in precisions(args, dev): rows.append(run_one(label, ds, data, model, prec, amp, args))
    show(rows)
    n_ddp = args.ddp if args.ddp is not None else (2 if (dev.type == 'cuda' and torch.cuda.device_count() >= 2) or args.tiny else 0)
    if n_ddp < 2: print('one GPU: no distributed run (it needs 2)'); return
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(n_ddp), __file__, '--worker',
           '--device', args.device, '--epochs', str(args.epochs), '--experts', str(args.experts), '--eval-batch-size', str(args.eval_batch_size)]
    cmd += ['--tiny'] if args.tiny else []
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    if dev.type == 'cpu': env.setdefault('GLOO_SOCKET_IFNAME', 'lo')
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode: sys.exit(f"gpu_check: the distributed run failed:\n{r.stderr[-3000:]}")
    ddp = [json.loads(l[len('RESULT '):]) for l in r.stdout.splitlines() if l.startswith('RESULT ')]
    print(f"\n{n_ddp} processes (DistributedDataParallel, global batch as above):"); show(ddp)


if __name__ == '__main__': main()
