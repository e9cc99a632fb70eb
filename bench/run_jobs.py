"""Run a list of shell commands (one per line; `#` comments) N at a time on one machine, with an optional deadline.

    python bench/run_jobs.py jobs.txt --parallel 12 --deadline 480 --logs logs/

Used for the GPU batches of the README's tables: every line is an ordinary `fame-nb train ...` command, so each number in
a table can be reproduced by running its line alone. Jobs start in file order (put the important ones first); at the
deadline, running jobs are interrupted (SIGINT: a `fame-nb train` run marks itself interrupted and can be resumed with
`fame-nb train --resume RUN`) and jobs not started are listed. Writes `summary.json` (command, exit status, seconds) to
the log folder.
"""
import argparse, json, os, signal, subprocess, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('jobs', help='file with one shell command per line')
    p.add_argument('--parallel', type=int, default=4, help='jobs at a time (default: 4)')
    p.add_argument('--deadline', type=float, default=None, help='seconds after which running jobs are interrupted')
    p.add_argument('--logs', default='logs', help='folder for one log per job and summary.json (default: logs)')
    a = p.parse_args()
    if a.parallel < 1: p.error('--parallel must be >= 1')
    lines = [l.strip() for l in Path(a.jobs).read_text().splitlines()]
    jobs = [l for l in lines if l and not l.startswith('#')]
    logs = Path(a.logs); logs.mkdir(parents=True, exist_ok=True)
    t0, queue, running, done = time.time(), list(enumerate(jobs)), {}, []
    def finish(i, status):
        cmd, start, log = running.pop(i)
        log.close()
        done.append({'job': i, 'command': cmd, 'status': status, 'seconds': round(time.time() - start, 1)})
        print(f"[{time.time() - t0:6.0f}s] job {i} {status}: {cmd}", flush=True)
    while queue or running:
        late = a.deadline is not None and time.time() - t0 > a.deadline
        while queue and len(running) < a.parallel and not late:
            i, cmd = queue.pop(0)
            log = open(logs / f'job{i:03d}.log', 'w')
            procs[i] = subprocess.Popen(cmd, shell=True, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            running[i] = (cmd, time.time(), log)
        for i in list(running):
            rc = procs[i].poll()
            if rc is not None: finish(i, 'ok' if rc == 0 else f'exit {rc}')
        if late and running:
            for i in list(running): os.killpg(procs[i].pid, signal.SIGINT)
            for i in list(running):
                try: procs[i].wait(timeout=30)
                except subprocess.TimeoutExpired: os.killpg(procs[i].pid, signal.SIGKILL); procs[i].wait()
                finish(i, 'interrupted at the deadline')
        if late: break
        time.sleep(0.5)
    for i, cmd in queue: done.append({'job': i, 'command': cmd, 'status': 'not started (deadline)', 'seconds': 0})
    summary = {'jobs': sorted(done, key=lambda r: r['job']), 'seconds': round(time.time() - t0, 1), 'parallel': a.parallel}
    (logs / 'summary.json').write_text(json.dumps(summary, indent=1))
    ok = sum(r['status'] == 'ok' for r in done)
    print(f"{ok}/{len(jobs)} jobs ok in {summary['seconds']:.0f} s; summary in {logs / 'summary.json'}")

procs = {}
if __name__ == '__main__': main()
