"""The sequence encoders beyond a notebook cell: the target-leak guard on every registered model, the torch.compile'd
Mamba scan against the eager one, and `fame-nb train --model gru4rec|fmlprec|mamba4rec` end to end."""
import dataclasses, json, os
from pathlib import Path
import pytest
import torch
import torch.nn.functional as F
from fame_nb.data import load_dataset, train_seqs
from fame_nb.train import MODELS, make_config, build_model
from fame_nb.encoders import (check_no_target_leak, selective_scan, selective_scan_ref, FMLPRec, Mamba4Rec,
                              Mamba4RecOptions, seq_padding_gap, seq_future_gap, _FWD, _BWD)

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))
SMALL = dict(dim=16, hidden=16, heads=2, layers=1, d_state=8, scan='sequential', experts=2)

@pytest.fixture(scope='module')
def ml():
    return load_dataset('ml-100k', str(SHARED))

def small_model(name, data, max_len=20):
    "The registered model `name` with small options (those of SMALL that it has), untrained."
    fields = {f.name for f in dataclasses.fields(MODELS[name].options)}
    cfg = make_config(name, max_len=max_len, **{k: v for k, v in SMALL.items() if k in fields})
    return build_model(cfg, data)

@pytest.mark.parametrize('name', sorted(MODELS))
def test_no_registered_model_leaks_its_targets(name, ml):
    "Every registered model, under the targets it declares, never sees a later item when its loss at t is computed."
    torch.manual_seed(0)
    model = small_model(name, ml)
    assert check_no_target_leak(model, train_seqs(ml)[:300], rows=24) == 24

def test_leak_guard_catches_a_non_causal_model_on_every_position(ml):
    model = FMLPRec(ml.n_items, dim=16, layers=1, max_len=20)
    model.targets = 'causal'
    with pytest.raises(AssertionError, match="FMLPRec with 'causal' targets leaks"):
        check_no_target_leak(model, train_seqs(ml)[:300])

class _no_warning:
    "Fail if torch.compile fell back to the eager scan (a warning): the compiled path must work where CI runs."
    def __enter__(self):
        import warnings
        self.w = warnings.catch_warnings(record=True); self.rec = self.w.__enter__(); warnings.simplefilter('always')
    def __exit__(self, *exc):
        self.w.__exit__(*exc)
        msgs = [str(w.message) for w in self.rec if 'of the Mamba scan failed' in str(w.message)]
        assert not msgs, msgs

def test_compiled_scan_equals_the_eager_scan():
    "The default scan (steps fused by torch.compile) against the eager steps and the plain loop: outputs and gradients."
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(6, 11, 8, generator=g), F.softplus(torch.randn(6, 11, 8, generator=g)), -torch.rand(8, 4, generator=g) * 3,
            torch.randn(6, 11, 4, generator=g), torch.randn(6, 11, 4, generator=g)]
    args = [a.requires_grad_() for a in args]
    gy = torch.randn(6, 11, 8, generator=g)
    with _no_warning():
        outs = {s: selective_scan(*args, scan=s) for s in ('compiled', 'sequential')}
        grads = {s: torch.autograd.grad(y, args, gy) for s, y in outs.items()}
    assert _FWD.compiled is not None and _BWD.compiled is not None and not (_FWD.failed or _BWD.failed)
    ref = selective_scan_ref(*args); ref_grads = torch.autograd.grad(ref, args, gy)
    for s in outs:
        torch.testing.assert_close(outs[s], ref, rtol=1e-5, atol=1e-5)
        for a, b in zip(grads[s], ref_grads): torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    with torch.no_grad(), _no_warning():                                  # another batch size, no autograd: the same compiled steps
        small = [a[:3] if a.dim() == 3 else a for a in args]
        torch.testing.assert_close(selective_scan(*small, scan='compiled'), selective_scan_ref(*small), rtol=1e-5, atol=1e-5)

def test_mamba4rec_default_scan_is_padding_invariant_and_causal(ml):
    "Mamba4Rec with its default options (scan='auto': compiled on CPU) on real ML-100K windows."
    from fame_nb.metrics import pad_left
    torch.manual_seed(0)
    m = Mamba4Rec.from_options(Mamba4RecOptions(dim=16, d_state=8), ml.n_items, 30).eval()
    seqs = pad_left([s[-20:] for s in train_seqs(ml)[:32]], 30)
    assert seq_padding_gap(m, seqs, extra=20) < 1e-5 and seq_future_gap(m, seqs, t=20) == 0.0

def fame_nb_here(capsys, *args):
    "The `fame-nb` command in this process (no interpreter start-up): (exit status, stdout, stderr)."
    from fame_nb.cli import main
    capsys.readouterr()
    try: main([str(a) for a in args]); code = 0
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err

def test_help_shows_the_model_options(capsys):
    for model, opt in [('gru4rec', '--hidden'), ('fmlprec', '--inner'), ('mamba4rec', '--d-state')]:
        code, out, err = fame_nb_here(capsys, 'train', '--model', model, '--help')
        assert code == 0 and f'{model} options' in out and opt in out, err

@pytest.mark.parametrize('model,extra', [('gru4rec', []), ('fmlprec', ['--layers', '1']), ('mamba4rec', ['--scan', 'sequential', '--d-state', '8'])])
def test_train_each_encoder_end_to_end(capsys, monkeypatch, tmp_path, model, extra):
    monkeypatch.setenv('FAME_NB_DATA', str(SHARED))
    code, out, err = fame_nb_here(capsys, 'train', '--dataset', 'synthetic', '--model', model, '--epochs', '1', '--dim', '16',
                                  '--max-len', '20', '--quiet', '--out', tmp_path, *extra)
    assert code == 0, err
    (run,) = tmp_path.iterdir()
    cfg, met = json.loads((run / 'config.json').read_text()), json.loads((run / 'metrics.json').read_text())
    assert cfg['model'] == model and cfg['options']['dim'] == 16 and run.name.startswith(f'synthetic-{model}-')
    assert 0 <= met['test']['NDCG@10'] <= met['test']['HR@10'] <= 1

def test_bad_encoder_option_is_one_line(capsys, tmp_path):
    code, out, err = fame_nb_here(capsys, 'train', '--model', 'mamba4rec', '--scan', 'fast', '--out', tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and '--scan must be one of' in err, err
    code, out, err = fame_nb_here(capsys, 'train', '--model', 'gru4rec', '--heads', '2', '--out', tmp_path)
    assert code == 2 and '--heads is not an option of --model gru4rec' in err, err
