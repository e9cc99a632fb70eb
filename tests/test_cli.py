"The `fame-nb` command end to end: success path, same-seed determinism, and one-line errors for bad input."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
EXE = shutil.which('fame-nb', path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
if EXE is None: pytest.fail('the fame-nb command is not installed (pip install -e .)', pytrace=False)

def fame_nb(*args, cwd=None):
    r = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env={**os.environ, 'FAME_NB_DATA': str(SHARED)})
    return r.returncode, r.stdout, r.stderr

def assert_user_error(code, err, *needles):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    for n in needles: assert n in err, (n, err)

def test_train_synthetic_is_deterministic(tmp_path):
    args = ['train', '--dataset', 'synthetic', '--epochs', '3', '--dim', '16', '--max-len', '20', '--quiet']
    c1, o1, e1 = fame_nb(*args, '--out', tmp_path / 'a')
    c2, o2, e2 = fame_nb(*args, '--out', tmp_path / 'b')
    assert c1 == c2 == 0, e1 + e2
    (r1,), (r2,) = (tmp_path / 'a').iterdir(), (tmp_path / 'b').iterdir()
    assert (r1 / 'metrics.json').read_text() == (r2 / 'metrics.json').read_text()
    assert sorted(p.name for p in r1.iterdir()) == ['config.json', 'history.csv', 'metrics.json', 'model.safetensors', 'status.json']
    cfg = json.loads((r1 / 'config.json').read_text())
    assert cfg['epochs'] == 3 and cfg['protocol']['history_items'] == 'excluded'
    assert 'NDCG@10' in o1 and str(r1) in o1

@pytest.fixture
def bad_ml(tmp_path):
    "A data folder whose u.data has a malformed third line."
    d = tmp_path / 'data' / 'ml-100k'; d.mkdir(parents=True)
    shutil.copy(SHARED / 'ml-100k' / 'u.item', d / 'u.item')
    lines = (SHARED / 'ml-100k' / 'u.data').read_text().splitlines()[:50]
    lines[2] = '196\t242\tthree\t881250949'
    (d / 'u.data').write_text('\n'.join(lines) + '\n')
    return tmp_path / 'data'

@pytest.mark.parametrize('argv,needles', [
    (['--dataset', 'ml-1b'], ["unknown dataset 'ml-1b'"]),
    (['--dataset', 'ml-100k', '--data-dir', '/nonexistent/fame'], ['/nonexistent/fame', 'does not exist']),
    (['--heads', '3'], ['--heads (3) must divide --dim (64)']),
    (['--epochs', '-2'], ['--epochs must be >= 1']),
    (['--model', 'gpt'], ["--model: invalid choice: 'gpt'"]),
    (['--device', 'tpu9'], ['--device']),
])
def test_bad_options(tmp_path, argv, needles):
    code, out, err = fame_nb('train', *argv, '--out', tmp_path / 'runs')
    assert_user_error(code, err, *needles)
    assert not (tmp_path / 'runs').exists() or not any((tmp_path / 'runs').iterdir())

def test_malformed_udata_line(tmp_path, bad_ml):
    code, out, err = fame_nb('train', '--dataset', 'ml-100k', '--data-dir', bad_ml, '--out', tmp_path / 'runs')
    assert_user_error(code, err, 'u.data:3', 'integer')
    assert not (tmp_path / 'runs').exists()

def test_sequence_file_with_non_integer_ids(tmp_path):
    f = tmp_path / 'Shop.txt'
    f.write_text('1 1 2 3 4 5\n2 1 2 x3 4 5\n')
    code, out, err = fame_nb('train', '--dataset', f, '--out', tmp_path / 'runs')
    assert_user_error(code, err, 'Shop.txt:2', "'x3'")
    assert not (tmp_path / 'runs').exists()

def test_unwritable_out(tmp_path):
    blocker = tmp_path / 'file'; blocker.write_text('not a folder')
    code, out, err = fame_nb('train', '--dataset', 'synthetic', '--epochs', '1', '--out', blocker / 'runs')
    assert_user_error(code, err, '--out', 'not a writable directory')
    assert blocker.read_text() == 'not a folder'

def test_help_documents_every_option():
    code, out, err = fame_nb('train', '--help')
    assert code == 0
    for opt in ['--dataset', '--data-dir', '--model', '--epochs', '--patience', '--batch-size', '--max-len', '--dim',
                '--heads', '--layers', '--dropout', '--lr', '--seed', '--out', '--device']:
        assert opt in out
