"""Bad input and faults, tried as a hostile but fair user would: every case ends with exit status 2 and ONE line on
stderr that names the culprit (option, file or run), no traceback, and nothing half-made left behind.

Grows with every loader and option: add a row to the matrix that matches the case."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
ENV = {**os.environ, 'FAME_NB_DATA': str(SHARED), 'OMP_NUM_THREADS': '1'}
TINY = ['--epochs', '2', '--dim', '16', '--max-len', '20', '--quiet']

def fame_nb(*args, cwd=None, env=None):
    "Run `python -m fame_nb.cli ARGS` in a fresh process; (exit status, stdout, stderr)."
    r = subprocess.run([sys.executable, '-m', 'fame_nb.cli', *map(str, args)], capture_output=True, text=True, cwd=cwd, env={**ENV, **(env or {})})
    return r.returncode, r.stdout, r.stderr

@pytest.fixture
def fame_nb_here(capsys, monkeypatch):
    "Run `fame_nb.cli.main(ARGS)` in this process (fast: no interpreter start); (exit status, stdout, stderr)."
    from fame_nb.cli import main
    monkeypatch.setenv('FAME_NB_DATA', str(SHARED))
    def run(*args):
        capsys.readouterr()
        try: main([str(a) for a in args]); code = 0
        except SystemExit as e: code = e.code
        o, e = capsys.readouterr()
        return code, o, e
    return run

def assert_one_line(code, err, *needles):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    for n in needles: assert n in err, (n, err)

def nothing_in(folder):
    return not Path(folder).exists() or not any(Path(folder).iterdir())

# --- options: refused before anything is written ---------------------------------------------------------------------
OPTIONS = [
    (['--lr', 'inf'], ['--lr must be a finite number']), (['--lr', 'nan'], ['--lr must be a finite number']),
    (['--lr', '0'], ['--lr must be a finite number in (0, inf)']), (['--lr', '-1'], ['--lr']),
    (['--seed', '-1'], ['--seed must be >= 0']), (['--seed', '1.5'], ["--seed: invalid int value: '1.5'"]),
    (['--seed', str(2**40)], ['--seed must be <=']),
    (['--weight-decay', '-1'], ['--weight-decay must be a finite number in [0']),
    (['--device', 'mps'], ['--device mps']), (['--device', 'meta'], ['not a device to train on']),
    (['--device', 'cuda:7'], ['--device cuda:7']),
    (['--epochs', '0'], ['--epochs must be >= 1']), (['--patience', '-1'], ['--patience must be >= 0']),
    (['--batch-size', '0'], ['--batch-size must be >= 1']), (['--max-len', '0'], ['--max-len must be >= 1']),
    (['--stride', '0'], ['--stride must be >= 1']), (['--stride', '99'], ['--stride must be <= 50']),
    (['--dim', '0'], ['--dim must be >= 1']), (['--heads', '0'], ['--heads must be >= 1']),
    (['--heads', '3'], ['--heads (3) must divide --dim (64)']),
    (['--dropout', '1'], ['--dropout must be a finite number in [0, 1)']), (['--dropout', '-0.1'], ['--dropout']),
    (['--experts', '4'], ['--experts is not an option of --model sasrec', 'fame']),
    (['--pretrained', 'runs/x'], ['--pretrained is not an option of --model sasrec']),
    (['--model', 'fame', '--experts', '0'], ['--experts must be >= 1']),
    (['--model', 'fame', '--expert-init', 'zeros'], ['--expert-init must be one of copy_noise, copy, random']),
    (['--model', 'fame', '--finetune-lr', 'inf'], ['--finetune-lr must be a finite number']),
    (['--model', 'fame+', '--facets', 'facet1,facet1'], ['--facets: each facet once']),
    (['--model', 'fame+', '--facets', 'facet1,colour'], ["no facet 'colour'"]),
    (['--model', 'fame+', '--tau', '0'], ['--tau must be a finite number']), (['--model', 'fame+', '--tau', '1e-45'], ['--tau']),
    (['--model', 'fame+', '--K', '0'], ['--K must be >= 1']), (['--model', 'fame+', '--pooling', 'max'], ['--pooling must be one of mean, cls']),
    (['--model', 'fame+', '--encoder', '/no/such/encoder'], ["text encoder '/no/such/encoder'"]),
    (['--model', 'fame', '--pretrained', '/no/such/run'], ['--pretrained /no/such/run: no such run folder']),
    (['--model', 'gpt'], ["invalid choice: 'gpt'"]), (['--dataset', 'ml-1b'], ["unknown dataset 'ml-1b'"]),
    (['--dataset', '/no/such/Shop.txt'], ['/no/such/Shop.txt']),
    (['--dataset', 'ml-100k', '--data-dir', '/nonexistent/fame'], ['/nonexistent/fame']),
    (['--bogus', '1'], ['unrecognized arguments: --bogus 1']),
    # protocol options (notebooks 05, 06)
    (['--loss', 'hinge'], ['--loss must be one of ce, bce']), (['--ties', 'random2'], ['--ties must be one of']),
    (['--eval-negatives', '-1'], ['--eval-negatives must be >= 0']), (['--eval-sampling', 'pop'], ['--eval-sampling must be one of']),
    (['--eval-sampling', 'popularity'], ['--eval-sampling popularity only applies to sampled ranking']),
    (['--targets', 'every'], ['--targets must be one of']),
    (['--model', 'fmlprec', '--targets', 'causal'], ['--targets causal: --model fmlprec cannot train that way', 'one target per prefix only']),
    (['--model', 'bert4rec', '--targets', 'prefix'], ['--targets prefix: --model bert4rec cannot', 'cloze']),
    (['--amp', 'fp8'], ['--amp must be one of']), (['--item-chunk', '-1'], ['--item-chunk must be >= 0']),
    # the encoders, FamouSRec and the baselines (notebooks 04a-04c)
    (['--model', 'gru4rec', '--experts', '4'], ['--experts is not an option of --model gru4rec']),
    (['--model', 'gru4rec', '--hidden', '0'], ['--hidden must be >= 1']), (['--model', 'fmlprec', '--inner', '0'], ['--inner must be >= 1']),
    (['--model', 'mamba4rec', '--d-state', '0'], ['--d-state must be >= 1']), (['--model', 'mamba4rec', '--scan', 'fast'], ['--scan must be one of']),
    (['--model', 'famousrec', '--experts', 'sa,cnn'], ["--experts: unknown expert 'cnn'"]),
    (['--model', 'famousrec', '--experts', '9'], ['--experts: a number of experts must be 1-4']),
    (['--model', 'famousrec', '--infer-topk', '5'], ['--infer-topk must be <= 4']), (['--model', 'famousrec', '--tau', '0'], ['--tau must be']),
    (['--model', 'famousrec', '--pool', 'max'], ['--pool must be one of last, mean']), (['--model', 'famousrec', '--lam', '-1'], ['--lam must be']),
    (['--model', 'famousrec', '--spe-pairs', '99'], ['--spe-pairs must be <= 12']),
    (['--model', 'bert4rec', '--mask-prob', '0'], ['--mask-prob must be a finite number in (0, 1]']),
    (['--model', 'cl4srec', '--crop-ratio', '2'], ['--crop-ratio must be']), (['--model', 'duorec', '--cl-weight', '-1'], ['--cl-weight must be']),
    (['--model', 'iclrec', '--intents', '0'], ['--intents must be >= 1']),
    (['--model', 'iclrec', '--intents', '100000'], ['--intents 100000: more intents than the']),
]

@pytest.mark.parametrize('argv,needles', OPTIONS, ids=[' '.join(a) for a, _ in OPTIONS])
def test_bad_option(tmp_path, fame_nb_here, argv, needles):
    code, out, err = fame_nb_here('train', '--dataset', 'synthetic', *argv, '--out', tmp_path / 'runs')
    assert_one_line(code, err, *needles)
    assert nothing_in(tmp_path / 'runs')

# --- files: one line naming the file ------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    "A finished FAME run (with its pretrained SASRec) on the synthetic world."
    out = tmp_path_factory.mktemp('finished')
    code, o, err = fame_nb('train', '--dataset', 'synthetic', '--model', 'fame', '--experts', '2', *TINY, '--out', out)
    assert code == 0, err
    (run,) = out.iterdir()
    return run

def broken_copy(run, tmp_path, name, content: bytes = None, state: str = None):
    "A copy of `run` with one file overwritten (or its status set to `state`)."
    c = tmp_path / 'copy'; shutil.copytree(run, c)
    if content is not None: (c / name).write_bytes(content)
    if state is not None:
        st = json.loads((c / 'status.json').read_text()); st.update(state=state, pid=-1); (c / 'status.json').write_text(json.dumps(st))
    return c

RUN_FILES = [
    ('model.safetensors', b'\x00garbage', ['model.safetensors', 'not a readable safetensors file']),
    ('config.json', b'{"model": "fame", ', ['config.json', 'not readable JSON']),
    ('status.json', b'\xff\xfe', ['status.json', 'not a readable status file']),
    ('config.json', json.dumps({'model': 'fame', 'options': {'dim': 'x'}}).encode(), ['config.json', '--dim must be an integer']),
]

@pytest.mark.parametrize('name,content,needles', RUN_FILES, ids=[f'{n}:{i}' for i, (n, _, _) in enumerate(RUN_FILES)])
def test_corrupt_run_file_recommend(finished, tmp_path, fame_nb_here, name, content, needles):
    c = broken_copy(finished, tmp_path, name, content)
    code, out, err = fame_nb_here('recommend', '--run', c, '--user', '3')
    assert_one_line(code, err, *needles)

def test_corrupt_pretrained(finished, tmp_path, fame_nb_here):
    c = broken_copy(finished, tmp_path, 'sasrec.safetensors', b'not safetensors')
    code, out, err = fame_nb_here('train', '--dataset', 'synthetic', '--model', 'fame', '--pretrained', c, *TINY, '--out', tmp_path / 'runs')
    assert_one_line(code, err, 'sasrec.safetensors', 'not a readable safetensors file')
    assert nothing_in(tmp_path / 'runs')

@pytest.mark.parametrize('state,needle', [('running', 'still training, or killed'), ('interrupted', 'interrupted (resume it'),
                                          ('failed', 'failed')])
def test_unfinished_runs_refused(finished, tmp_path, fame_nb_here, state, needle):
    c = broken_copy(finished, tmp_path, None, state=state)
    code, out, err = fame_nb_here('recommend', '--run', c, '--user', '3')
    assert_one_line(code, err, 'not a finished run', needle)
    code, out, err = fame_nb_here('train', '--dataset', 'synthetic', '--model', 'fame', '--pretrained', c, *TINY, '--out', tmp_path / 'runs')
    assert_one_line(code, err, '--pretrained', 'not a finished run')
    assert nothing_in(tmp_path / 'runs')

def test_pretrained_on_other_data_refused(finished, tmp_path, fame_nb_here):
    "A SASRec trained on the synthetic world cannot start FAME on other data, even with the same item count."
    seqs = tmp_path / 'Shop.txt'
    seqs.write_text(''.join(f"{u} " + ' '.join(str((u * 7 + k) % 200 + 1) for k in range(8)) + '\n' for u in range(1, 301)))
    code, out, err = fame_nb_here('train', '--dataset', seqs, '--min-count', '1', '--model', 'fame', '--pretrained', finished, *TINY,
                             '--out', tmp_path / 'runs')
    assert code == 2 and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    assert '--pretrained' in err and ('other data' in err or 'do not fit' in err), err
    assert nothing_in(tmp_path / 'runs')

def test_resume_refusals(finished, tmp_path):
    code, out, err = fame_nb('train', '--resume', finished)
    assert_one_line(code, err, 'already finished')
    c = broken_copy(finished, tmp_path, 'checkpoint-pretrain.pt', b'PK\x03\x04 truncated', state='interrupted')
    code, out, err = fame_nb('train', '--resume', c, '--quiet')
    assert_one_line(code, err, 'checkpoint-pretrain.pt', 'not a readable checkpoint')

def test_diverged_run_reports_nothing(tmp_path):
    code, out, err = fame_nb('train', '--dataset', 'synthetic', '--lr', '1e6', *TINY, '--out', tmp_path / 'runs')
    assert_one_line(code, err, 'epoch 1', 'diverged', '--lr')
    (run,) = (tmp_path / 'runs').iterdir()
    assert json.loads((run / 'status.json').read_text())['state'] == 'failed' and not (run / 'metrics.json').exists()
    assert 'HR@10' not in out

def test_full_disk_one_line(tmp_path, monkeypatch, capsys):
    "No space left while writing a run: one line naming the file, exit 2, and no run that looks finished."
    import errno
    import fame_nb.core as core, fame_nb.cli as cli
    real = core.atomic_write
    def full(path, write):
        if Path(path).name == 'history.csv': raise OSError(errno.ENOSPC, 'No space left on device', str(path))
        return real(path, write)
    monkeypatch.setattr(core, 'atomic_write', full)              # every writer of the package goes through core's
    with pytest.raises(SystemExit) as e: cli.main(['train', '--dataset', 'synthetic', *TINY, '--out', str(tmp_path / 'runs')])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1 and 'No space left on device' in err and 'history.csv' in err, err
    for run in (tmp_path / 'runs').iterdir():
        assert json.loads((run / 'status.json').read_text())['state'] != 'finished'
        assert not list(run.glob('.*.part'))

def test_ablate_report_only_with_corrupt_metrics(tmp_path):
    args = ['ablate', 'heads', '--dataset', 'synthetic', '--heads', '1', '--seeds', '0', '--epochs', '1', '--dim', '16',
            '--max-len', '20', '--out', tmp_path / 'abl', '--quiet']
    code, out, err = fame_nb(*args)
    assert code == 0, err
    m = next((tmp_path / 'abl' / 'runs').glob('sasrec-H1/*/metrics.json')); m.write_text('{"valid": ')
    code, out, err = fame_nb(*args, '--report-only')
    assert_one_line(code, err, 'metrics.json', 'not readable JSON')

def test_ablate_report_only_without_runs_writes_nothing(tmp_path):
    code, out, err = fame_nb('ablate', 'heads', '--dataset', 'synthetic', '--heads', '1', '--seeds', '0', '--out', tmp_path / 'abl', '--report-only')
    assert_one_line(code, err, 'no finished runs')
    assert nothing_in(tmp_path / 'abl')

def test_relative_dataset_path_is_recorded_absolute(tmp_path):
    "A run trained on a relative file path, used from another folder, reads that file, not another of the same name."
    a, b = tmp_path / 'a', tmp_path / 'b'; a.mkdir(); b.mkdir()
    lines = ''.join(f"{u} " + ' '.join(str((u * 3 + k) % 60 + 1) for k in range(10)) + '\n' for u in range(1, 201))
    (a / 'Shop.txt').write_text(lines)
    (b / 'Shop.txt').write_text(lines.replace('\n1 ', '\n1 7 ', 1) + '201 1 2 3 4 5 6 7\n')      # a different file, same name
    code, out, err = fame_nb('train', '--dataset', 'Shop.txt', '--model', 'fame', '--experts', '2', *TINY, '--out', 'runs', cwd=a)
    assert code == 0, err
    (run,) = (a / 'runs').iterdir()
    conf = json.loads((run / 'config.json').read_text())
    assert conf['dataset'] == str((a / 'Shop.txt').resolve())
    code, out, err = fame_nb('recommend', '--run', run, '--user', '3', '--k', '3', cwd=b)
    assert code == 0 and 'held-out test item' in out, err

def test_two_trainings_on_one_out(tmp_path):
    "Two identical trainings started together on one --out both finish, in their own folders, with identical metrics."
    cmd = [sys.executable, '-m', 'fame_nb.cli', 'train', '--dataset', 'synthetic', *TINY, '--out', str(tmp_path / 'runs')]
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV) for _ in range(2)]
    for p in ps: assert p.wait() == 0, p.stderr.read()
    runs = sorted((tmp_path / 'runs').iterdir())
    assert len(runs) == 2 and runs[1].name == runs[0].name + '-2'
    assert (runs[0] / 'metrics.json').read_bytes() == (runs[1] / 'metrics.json').read_bytes()

def test_two_sweeps_on_one_out(tmp_path):
    "Two identical ablate sweeps started together on one --out both finish and share the runs (no race on folder names)."
    cmd = [sys.executable, '-m', 'fame_nb.cli', 'ablate', 'heads', '--dataset', 'synthetic', '--heads', '1', '2', '--seeds', '0',
           '--epochs', '1', '--dim', '16', '--max-len', '20', '--out', str(tmp_path / 'abl'), '--quiet']
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(2)]
    outs = [p.communicate() for p in ps]
    for p, (o, e) in zip(ps, outs): assert p.returncode == 0, e
    assert sorted(p.name for p in (tmp_path / 'abl' / 'runs').glob('*/*') if p.is_dir()) == \
           ['synthetic-fame-seed0', 'synthetic-fame-seed0', 'synthetic-sasrec-seed0', 'synthetic-sasrec-seed0']
    trained = [int(o.split('trained ')[1].split(' ')[0]) for o, _ in outs]
    assert sum(trained) == 4, outs                                        # every run trained once, by one of the two

def test_ablate_workers(tmp_path):
    "`--workers 3`: three processes share one sweep; every run is trained exactly once and the table has them all."
    code, out, err = fame_nb('ablate', 'heads', '--dataset', 'synthetic', '--heads', '1', '2', '--seeds', '0', '1', '--epochs', '1',
                             '--dim', '16', '--max-len', '20', '--out', tmp_path / 'abl', '--quiet', '--workers', '3')
    assert code == 0, err
    runs = [p for p in (tmp_path / 'abl' / 'runs').glob('*/*') if p.is_dir()]
    assert len(runs) == 8 and all(json.loads((r / 'status.json').read_text())['state'] == 'finished' for r in runs)
    hist = [len(__import__('pandas').read_csv(r / 'history.csv')) for r in runs]
    assert all(h == 1 for h in hist), hist                                        # one epoch each: no run trained twice
    code, out, err = fame_nb('ablate', 'heads', '--dataset', 'synthetic', '--heads', '1', '2', '--seeds', '0', '1', '--epochs', '1',
                             '--dim', '16', '--max-len', '20', '--out', tmp_path / 'abl', '--quiet')
    assert code == 0 and 'trained 0 run(s), reused 8' in out, out + err
