"""Two CPU processes (gloo) against one: the same training step and exactly the same evaluation; torchrun end to end."""
import dataclasses, json, os, subprocess, sys
import pandas as pd
import pytest
import torch
from fame_nb.data import load_dataset, train_seqs
from fame_nb.distributed import spawn
from fame_nb.metrics import evaluate
from fame_nb.train import make_config, config_from_dict, build_model, fit
from fame_nb.targets import make_targets

EV = dict(split='test', return_ranks=True, ties='random', seed=1, batch_size=50)


def small_data():
    "ML-100K's first users, and a batch size that leaves one row for the last batch (so one process gets a stand-in row)."
    d = load_dataset('ml-100k')
    for n_users in range(100, 200):
        sub = dataclasses.replace(d, seqs=d.seqs[:n_users])
        cfg = make_config('sasrec', dim=16, heads=2, layers=2, dropout=0.0, max_len=30, epochs=1, lr=3e-3)
        n = len(make_targets(build_model(cfg, sub), train_seqs(sub), cfg))
        bs = next((b for b in range(40, 90) if n % b == 1), None)
        if bs: return sub, cfg.replace(batch_size=bs), n
    raise AssertionError('no batch size leaves one row')


def worker(cfg_dict, data, state):
    "In each process: one epoch of distributed training from the same initial weights, and a distributed evaluation of `state`."
    torch.manual_seed(0)
    cfg = config_from_dict(cfg_dict)
    model, hist = fit(build_model(cfg, data), data, cfg, progress=False)
    m = build_model(cfg, data); m.load_state_dict(state)
    return {'state': {k: v.detach().cpu() for k, v in model.state_dict().items()}, 'history': hist,
            'eval': evaluate(m, data, max_len=cfg.max_len, **EV), 'eval_chunked': evaluate(m, data, max_len=cfg.max_len, item_chunk=300, **EV)}


def test_two_processes_equal_one():
    data, cfg, n_windows = small_data()
    torch.manual_seed(0)
    model, hist = fit(build_model(cfg, data), data, cfg, progress=False)          # one process, the whole batch
    one = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ref_m, ref_r = evaluate(model, data, max_len=cfg.max_len, **EV)
    res = spawn(worker, 2, cfg.to_dict(), data, one)
    for r in res:                                                                   # (a) the same parameters after the epoch
        assert r['state'].keys() == one.keys()
        for k, v in one.items():
            # a key bias shifts every score of a query by the same amount: its gradient is 0 up to rounding, which Adam
            # normalises into steps of random sign; compared as 'stays within lr x steps of zero' instead
            if k.endswith('k_proj.bias'): assert r['state'][k].abs().max() <= cfg.lr * 20 and v.abs().max() <= cfg.lr * 20; continue
            torch.testing.assert_close(r['state'][k], v, rtol=1e-4, atol=1e-5, msg=k)
        assert abs(r['history'].loss.iloc[0] - hist.loss.iloc[0]) < 1e-5 * hist.loss.iloc[0]   # the epoch's mean loss over all targets
        assert r['history']['valid_NDCG@10'].iloc[0] == pytest.approx(hist['valid_NDCG@10'].iloc[0], abs=1e-3)
    # the epoch changed the weights (so the comparison above compares something)
    init = build_model(cfg, data).state_dict()
    assert max((one[k] - init[k]).abs().max() for k in one) > 1e-3
    for r in res:                                                                   # (b) gathered evaluation = one process, exactly
        m, ranks = r['eval']
        assert m == ref_m and torch.equal(ranks, ref_r)
        m, ranks = r['eval_chunked']
        assert m == ref_m and torch.equal(ranks, ref_r)
    assert n_windows % cfg.batch_size == 1                                         # the last batch had one row for two processes


def test_torchrun_cli_fame(tmp_path):
    "torchrun -m fame_nb.cli: a two-stage FAME run with two processes writes one run folder, once, and prints once."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'GLOO_SOCKET_IFNAME': 'lo'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m', 'fame_nb.cli', 'train',
           '--model', 'fame', '--experts', '2', '--dataset', 'synthetic', '--epochs', '2', '--dim', '16', '--max-len', '20',
           '--batch-size', '64', '--out', str(tmp_path), '--quiet']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1, runs
    rd = runs[0]
    assert json.loads((rd / 'status.json').read_text())['state'] == 'finished'
    assert json.loads((rd / 'config.json').read_text())['processes'] == 2
    hist = pd.read_csv(rd / 'history.csv')
    assert hist.stage.tolist() == ['pretrain', 'pretrain', 'finetune', 'finetune']
    assert set(json.loads((rd / 'metrics.json').read_text())) == {'valid', 'test', 'protocol'}
    assert r.stdout.count('run written to') == 1 and r.stdout.count('NDCG@10') == 1
    assert not list(rd.glob('checkpoint-*')) and not list(rd.glob('*.tmp*'))
