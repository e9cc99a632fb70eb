"""bench/gpu_table3.sh end to end on CPU with tiny settings (synthetic data, 1 epoch): the script the lead runs on a GPU
must run through all four phases and leave the files that fill Table 3. The full-model CPU check (every baseline, two
seeds, about 10 minutes on 2 cores) is the command in the script's header; this test keeps to SASRec and FAME."""
import json, os, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def test_gpu_table3_script_end_to_end(tmp_path):
    out = tmp_path / 't3'
    env = {**os.environ, 'DATASET': 'synthetic', 'DEVICE': 'cpu', 'MODELS': 'sasrec notamodel', 'SEEDS': '1', 'TRIALS': '1',
           'FAME_TRIALS': '1', 'FAME_WORKERS': '1', 'T1': '30', 'T2': '30', 'TUNE_EPOCHS': '1', 'EPOCHS': '1', 'JOBS': '1',
           'DEADLINE': '600', 'PYTHON': sys.executable}
    r = subprocess.run(['bash', str(REPO / 'bench' / 'gpu_table3.sh'), str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    table = (out / 'TABLE3.md').read_text()
    assert '| sasrec | 1 |' in table and '| fame | 1 |' in table and 'notamodel' not in table
    assert 'full ranking, history items excluded, ties pessimistic, loss ce' in table
    for m in ('sasrec', 'fame'):
        best = json.loads((out / 'tune' / 'synthetic' / m / 'best.json').read_text())
        assert best['trials']['complete'] == 1 and best['config']['device'] == 'cpu'
        assert (out / 'compare' / 'runs' / 'synthetic' / m / 'seed1' / 'ranks.npz').is_file()
    assert json.loads((out / 'tune' / 'synthetic' / 'fame' / 'best.json').read_text())['pretrained_from'] == 'tuned SASRec'
    for f in ('table.csv', 'table.png', 'compare.csv'): assert (out / 'compare' / f).is_file()
    timing = (out / 'timing.txt').read_text()
    assert all(f'phase {i}' in timing for i in (1, 2, 3, 4)), timing
    kept = {p.relative_to(out).parts[:4] for p in out.rglob('*.safetensors')}      # only the SASRecs FAME starts from are kept
    assert kept and all(k[:4] == ('compare', 'runs', 'synthetic', 'sasrec') or 'pretrained' in k for k in kept), kept
    assert not list((out / 'compare' / 'runs' / 'synthetic' / 'fame').rglob('*.safetensors'))
    assert 'commit:' in (out / 'env.txt').read_text()
    proto = (out / 'protocols.md').read_text()                   # the switch table of SASRec, FAME and the BCE SASRec
    assert all(f'{m} HR@10' in proto for m in ('SASRec', 'FAME', 'SASRec --loss bce')) and '100 uniform negatives' in proto, proto
    assert json.loads(next((out / 'bce').glob('*/metrics.json')).read_text())['protocol']['loss'].startswith('bce')
