"""FamouSRec beyond a notebook cell: `fame-nb train --model famousrec` end to end (history logs every loss term), its bad
options as one-line errors, L_spe's memory staying flat in the catalogue size, and a run resumed after an interruption."""
import json, os
from pathlib import Path
import pytest
import torch
from fame_nb.famousrec import SoftmaxStats

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
QUICK = ['--dataset', 'synthetic', '--model', 'famousrec', '--epochs', '1', '--dim', '16', '--max-len', '12', '--quiet',
         '--experts', 'sa,gru,mlp,mamba', '--d-state', '8', '--scan', 'sequential']

def fame_nb_here(capsys, *args):
    from fame_nb.cli import main
    capsys.readouterr()
    try: main([str(a) for a in args]); code = 0
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err

def test_train_famousrec_end_to_end(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv('FAME_NB_DATA', str(SHARED))
    code, out, err = fame_nb_here(capsys, 'train', *QUICK, '--spe-pairs', '2', '--pool', 'mean', '--out', tmp_path)
    assert code == 0, err
    (run,) = tmp_path.iterdir()
    cfg, met = json.loads((run / 'config.json').read_text()), json.loads((run / 'metrics.json').read_text())
    assert cfg['model'] == 'famousrec' and cfg['options']['experts'] == 'sa,gru,mlp,mamba' and cfg['options']['spe_pairs'] == 2
    hist = (run / 'history.csv').read_text().splitlines()[0].split(',')
    assert {'loss', 'rec', 'spe', 'al', 'bal'} <= set(hist)
    assert 0 <= met['test']['NDCG@10'] <= met['test']['HR@10'] <= 1

@pytest.mark.parametrize('argv,msg', [(['--experts', 'sa,transformer'], "unknown expert 'transformer'"),
                                      (['--experts', 'sa,gru', '--infer-topk', '3'], '--infer-topk must be <= 2'),
                                      (['--pool', 'max'], '--pool must be one of last, mean'),
                                      (['--heads', '3'], '--heads (3) must divide --dim (16)'),
                                      (['--lam', '-1'], '--lam must be a finite number'),
                                      (['--facets', 'genre'], '--facets is not an option of --model famousrec')])
def test_bad_options_are_one_line(capsys, tmp_path, argv, msg):
    code, out, err = fame_nb_here(capsys, 'train', *QUICK, *argv, '--out', tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and msg in err, err
    assert not list(tmp_path.iterdir())                                   # nothing written

def test_spe_memory_is_flat_in_the_catalogue():
    "SoftmaxStats keeps rows x chunk floats alive, whatever the number of items: autograd saves only h, E, lse and mu."
    saved = []
    def pack(t): saved.append(t.numel()); return t
    h = torch.randn(64, 16, requires_grad=True)
    for n_items in (1_000, 50_000):
        E = torch.randn(n_items, 16, requires_grad=True)
        saved.clear()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t): lse, mu = SoftmaxStats.apply(h, E, 512)
        assert sum(saved) == h.numel() + E.numel() + lse.numel() + mu.numel()       # no rows x items tensor kept
        (lse.sum() + mu.sum()).backward()
    ref = torch.logsumexp(h.detach() @ E.detach().T, 1)
    torch.testing.assert_close(SoftmaxStats.apply(h.detach(), E.detach(), 4096)[0], ref, rtol=1e-5, atol=1e-5)

def test_resume_continues_an_interrupted_run(capsys, monkeypatch, tmp_path):
    "A FamouSRec run interrupted after its first epoch resumes from the checkpoint and ends like an uninterrupted one."
    from fame_nb import train as T
    monkeypatch.setenv('FAME_NB_DATA', str(SHARED))
    argv = ['train', *QUICK[:5], '2', *QUICK[6:], '--experts', 'sa,mlp', '--seed', '1']
    code, out, err = fame_nb_here(capsys, *argv, '--out', tmp_path / 'straight')
    assert code == 0, err
    calls = {'n': 0}
    orig = T.evaluate
    def stop_after_first(*a, **k):
        calls['n'] += 1
        if calls['n'] == 2: raise KeyboardInterrupt
        return orig(*a, **k)
    monkeypatch.setattr(T, 'evaluate', stop_after_first)
    code, out, err = fame_nb_here(capsys, *argv, '--out', tmp_path / 'cut')
    assert code == 130, err
    monkeypatch.setattr(T, 'evaluate', orig)
    (run,) = (tmp_path / 'cut').iterdir()
    code, out, err = fame_nb_here(capsys, 'train', '--resume', run, '--quiet')
    assert code == 0, err
    (ref,) = (tmp_path / 'straight').iterdir()
    a, b = (json.loads((r / 'metrics.json').read_text())['test'] for r in (ref, run))
    assert a == pytest.approx(b, abs=1e-9)
