"""`fame-nb ablate` and `fame-nb recommend` end to end: a sweep killed midway resumes without retraining its finished
runs and redoes the killed one from scratch; the tidy CSV ends complete; bad input is one line with exit status 2."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
EXE = shutil.which('fame-nb', path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
if EXE is None: pytest.fail('the fame-nb command is not installed (pip install -e .)', pytrace=False)
ENV = {**os.environ, 'FAME_NB_DATA': str(SHARED), 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
# small and fast, but long enough (30 epochs per stage) that a run is still going when the test kills the sweep
QUICK = ['--dataset', 'synthetic', '--epochs', '30', '--patience', '30', '--dim', '16', '--max-len', '20', '--quiet']
METRICS = 6

def fame_nb(*args):
    r = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600)
    return r.returncode, r.stdout, r.stderr

def fame_nb_here(capsys, *args):
    "The command in this process (quicker for bad input, which fails before any training): (exit status, stdout, stderr)."
    from fame_nb.cli import main
    capsys.readouterr()
    try: main([str(a) for a in args]); code = 0
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err

def assert_user_error(code, err, *needles):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    for n in needles: assert n in err, (n, err)

def run_dir(out, variant, model, seed=0): return out / 'runs' / variant / f'synthetic-{model}-seed{seed}'

def test_resume_after_kill(tmp_path):
    out = tmp_path / 'abl'
    argv = ['ablate', 'heads', '--heads', '1', '2', '--seeds', '0', *QUICK, '--out', out]
    first, second = run_dir(out, 'sasrec-H1', 'sasrec'), run_dir(out, 'fame-H1-N1', 'fame')
    p = subprocess.Popen([EXE, *map(str, argv)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        t0 = time.time()
        while not ((first / 'metrics.json').exists() and (second / 'config.json').exists()):
            assert p.poll() is None, f'the sweep ended before it could be killed: {p.stderr.read()[-2000:]}'
            assert time.time() - t0 < 300, 'the second run did not start within 5 minutes'
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGKILL)                          # killed during the second run (FAME w/o MoE at H = 1)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    assert (first / 'metrics.json').is_file() and not (second / 'metrics.json').exists()
    partial = pd.read_csv(out / 'head_sweep.csv')                  # written after every finished run
    assert set(partial.variant) == {'sasrec-H1'} and len(partial) == 2 * METRICS
    done = {f: f.stat().st_mtime_ns for f in (first / 'metrics.json', first / 'model.safetensors', first / 'history.csv')}

    code, stdout, err = fame_nb(*argv)
    assert code == 0, err
    assert 'trained 3 run(s), reused 1' in stdout, stdout
    assert {f: f.stat().st_mtime_ns for f in done} == done, 'a finished run was trained again'
    res = pd.read_csv(out / 'head_sweep.csv')
    assert set(res.variant) == {'sasrec-H1', 'fame-H1-N1', 'sasrec-H2', 'fame-H2-N1'}
    assert len(res) == 4 * 2 * METRICS and res.value.notna().all() and res.value.between(0, 1).all()
    assert list(res.columns[:4]) == ['dataset', 'sweep', 'variant', 'label'] and {'seed', 'split', 'metric', 'value'} <= set(res.columns)
    # the killed run was resumed (from its last checkpoint, or afresh): one fine-tuning stage, epochs 1..n once each (nothing appended to a stale history)
    h = pd.read_csv(second / 'history.csv')
    assert list(h.stage.unique()) == ['finetune'] and h.epoch.tolist() == list(range(1, len(h) + 1))
    assert json.loads((second / 'config.json').read_text())['options']['pretrained'] == str(first)
    assert (out / 'head_sweep.png').stat().st_size > 10_000
    # a third run trains nothing and leaves the results as they are
    code, stdout, err = fame_nb(*argv)
    assert code == 0 and 'trained 0 run(s), reused 4' in stdout, err
    pd.testing.assert_frame_equal(pd.read_csv(out / 'head_sweep.csv'), res)

@pytest.fixture(scope='module')
def sweep(tmp_path_factory):
    "A finished quick head sweep (H = 2, two seeds) to build on."
    out = tmp_path_factory.mktemp('sweep') / 'abl'
    code, stdout, err = fame_nb('ablate', 'heads', '--heads', '2', '--seeds', '0', '1', '--dataset', 'synthetic', '--epochs', '2',
                                '--dim', '16', '--max-len', '20', '--quiet', '--out', out)
    assert code == 0, err
    return out

def test_more_seeds_and_expert_sweep(sweep):
    args = ['--dataset', 'synthetic', '--epochs', '2', '--dim', '16', '--max-len', '20', '--quiet', '--out', sweep]
    code, stdout, err = fame_nb('ablate', 'experts', '--heads', 'best', '--experts', '2', '--seeds', '0', '1', *args)
    assert code == 0, err
    assert 'trained 2 run(s), reused 4' in stdout and 'mean ± std over 2 seeds' in stdout, stdout
    res = pd.read_csv(sweep / 'expert_sweep.csv')
    assert set(res.label) == {'SASRec', 'FAME w/o MoE', 'FAME'} and set(res.seed) == {0, 1}
    assert (sweep / 'expert_sweep.png').is_file()
    meta = json.loads((sweep / 'expert_sweep.json').read_text())
    assert meta['command'].startswith('fame-nb ablate experts') and meta['seeds'] == [0, 1]

def test_table4_and_tsne(sweep):
    args = ['--dataset', 'synthetic', '--epochs', '2', '--dim', '16', '--max-len', '20', '--quiet', '--out', sweep, '--supcon-epochs', '3']
    code, stdout, err = fame_nb('ablate', 'table4', '--experts', '2', '--seeds', '0', *args)
    assert code == 0, err
    assert 'FAME+raw' in stdout and 'FAME+1,2' in stdout and 'one seed (no std)' in stdout, stdout
    res = pd.read_csv(sweep / 'table4.csv')
    assert set(res.label) == {'SASRec', 'FAME', 'FAME+raw', 'FAME+1,2', 'FAME+1', 'FAME+2'}    # two facets: each alone too
    assert set(res[res.label == 'FAME+1,2'].facets) == {'facet1,facet2'} and set(res[res.label == 'FAME+2'].facets) == {'facet2,none'}
    code, stdout, err = fame_nb('ablate', 'tsne', *args)
    assert code == 0, err
    t = pd.read_csv(sweep / 'tsne.csv')
    assert len(t) == 4 and t.nn_same_class.between(0, 1).all() and (sweep / 'tsne.png').stat().st_size > 10_000

def test_recommend(sweep):
    from fame_nb.synthetic import synthetic_facet_world
    d = synthetic_facet_world()
    user = d.user_ids[7]
    rd = run_dir(sweep, 'fame-H2-N1', 'fame')
    code, stdout, err = fame_nb('recommend', '--run', rd, '--user', user, '--k', '10')
    assert code == 0, err
    assert f'user {user} (synthetic)' in stdout and 'gate: head 1' in stdout and 'equal gate' in stdout
    target = d.seqs[7][-1]
    assert f'held-out test item: * {d.items.title[target]}' in stdout
    assert len([l for l in stdout.splitlines() if l[:4].strip().isdigit()]) == 10     # ranks 1..10
    code, stdout, err = fame_nb('recommend', '--run', rd, '--gates')
    assert code == 0, err
    assert 'share' in stdout and "dominant head = the user's true facet" in stdout

@pytest.mark.parametrize('argv,needles', [
    (['ablate', 'heads', '--heads', '3', '--dim', '16'], ['--heads (3) must divide --dim (16)']),
    (['ablate', 'heads', '--heads', 'two'], ["--heads: expected integers, got 'two'"]),
    (['ablate', 'heads', '--experts', '2'], ['--experts is not used by ablate heads']),
    (['ablate', 'heads', '--seeds', '1', '1'], ['--seeds must be distinct']),
    (['ablate', 'experts', '--heads', 'best'], ['no head_sweep results']),
    (['ablate', 'experts', '--heads', '1', '2'], ['--heads takes one value here']),
    (['ablate', 'table4', '--experts', '2', '--K', '40'], ['--K', 'facet1']),
    (['ablate', 'table4', '--experts', '2', '--pairs', '1-2'], ["--pairs: expected I,J"]),
    (['ablate', 'heads', '--dataset', 'ml-1b'], ["unknown dataset 'ml-1b'"]),
    (['ablate', 'sizes'], ["invalid choice: 'sizes'"]),
])
def test_ablate_bad_input(tmp_path, capsys, monkeypatch, argv, needles):
    monkeypatch.setenv('FAME_NB_DATA', str(SHARED))
    argv = argv if '--dataset' in argv else [*argv, '--dataset', 'synthetic']
    code, out, err = fame_nb_here(capsys, *argv, '--out', tmp_path / 'abl', '--quiet')
    assert_user_error(code, err, *needles)
    assert not (tmp_path / 'abl').exists(), 'a failed command wrote results'

def test_ablate_refuses_runs_made_with_other_options(sweep, capsys):
    code, out, err = fame_nb_here(capsys, 'ablate', 'heads', '--heads', '2', '--seeds', '0', '--dataset', 'synthetic', '--epochs', '3',
                             '--dim', '16', '--max-len', '20', '--quiet', '--out', sweep)
    assert_user_error(code, err, 'was trained with epochs=2', 'use another --out')

def test_recommend_bad_input(tmp_path, sweep, capsys):
    fame, sas = run_dir(sweep, 'fame-H2-N1', 'fame'), run_dir(sweep, 'sasrec-H2', 'sasrec')
    for argv, needles in [(['--run', fame, '--user', 'nobody'], ['--user nobody: no such user in synthetic']),
                          (['--run', sas, '--user', '3'], ['a sasrec run', 'needs a FAME model']),
                          (['--run', tmp_path, '--user', '3'], ['not a finished run']),
                          (['--run', tmp_path / 'missing', '--user', '3'], ['no such run folder']),
                          (['--run', fame, '--user', '3', '--k', '0'], ['--k must be >= 1']),
                          (['--run', fame], ['one of the arguments --user --gates is required'])]:
        code, out, err = fame_nb_here(capsys, 'recommend', *argv)
        assert_user_error(code, err, *needles)
