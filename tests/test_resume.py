"""`fame-nb train --resume`: a CPU run killed with SIGKILL after an epoch continues from its last checkpoint and ends with
exactly the metrics and history of the same run never interrupted (same seed, one thread)."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
ENV = {**os.environ, 'FAME_NB_DATA': str(SHARED), 'OMP_NUM_THREADS': '1'}
ARGS = ['train', '--dataset', 'synthetic', '--model', 'fame', '--experts', '2', '--epochs', '4', '--patience', '4',
        '--dim', '16', '--max-len', '20', '--quiet']

def run(*args):
    r = subprocess.run([sys.executable, '-m', 'fame_nb.cli', *map(str, args)], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    return r

def history_rows(out: Path, stage: str) -> int:
    h = list(out.glob('*/history.csv'))
    if not h: return 0
    try: return int((pd.read_csv(h[0]).stage == stage).sum())
    except Exception: return 0                                  # being replaced right now

@pytest.mark.parametrize('stage,after', [('pretrain', 1), ('finetune', 2)])
def test_killed_run_resumes_to_the_same_result(tmp_path, stage, after):
    run(*ARGS, '--out', tmp_path / 'full')
    (full,) = (tmp_path / 'full').iterdir()
    p = subprocess.Popen([sys.executable, '-m', 'fame_nb.cli', *ARGS, '--out', str(tmp_path / 'cut')], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while history_rows(tmp_path / 'cut', stage) < after:
            assert p.poll() is None and time.time() - t0 < 300, 'the run ended before it could be killed'
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)                           # killed: no handler runs, status stays 'running'
    finally:
        p.wait()
    (cut,) = (tmp_path / 'cut').iterdir()
    assert json.loads((cut / 'status.json').read_text())['state'] == 'running' and not (cut / 'metrics.json').exists()
    r = subprocess.run([sys.executable, '-m', 'fame_nb.cli', 'recommend', '--run', str(cut), '--user', '3'], capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and 'not a finished run' in r.stderr                 # nobody uses it meanwhile
    run('train', '--resume', cut, '--quiet')
    assert (cut / 'metrics.json').read_bytes() == (full / 'metrics.json').read_bytes()
    drop = ['train_seconds', 'targets_per_second']
    pd.testing.assert_frame_equal(pd.read_csv(cut / 'history.csv').drop(columns=drop), pd.read_csv(full / 'history.csv').drop(columns=drop))
    assert json.loads((cut / 'status.json').read_text())['state'] == 'finished' and not list(cut.glob('checkpoint-*'))
