"""FamouSRec runs ranked again with k = 1 .. K experts per user at inference (Eq. 8-9's TopK), and how confident
their gate is: does top-1 routing (the paper's inference) cost accuracy against the mixture the model was trained as?

    OMP_NUM_THREADS=1 python bench/famousrec_inference.py LABEL=RUN [LABEL=RUN ...] --out nbs/results/ml-100k/famousrec_inference.csv

For each finished FamouSRec run folder: validation and test metrics (the run's own protocol) with `infer_topk` = 1 .. K
(K = the dense softmax mixture that training optimises), and, over the test users, the mean and quartiles of the
largest gate probability (1/K = a uniform gate, 1 = one expert per user). Writes a tidy CSV atomically and prints it.
"""
import argparse
import numpy as np
import pandas as pd
from fame_nb.core import ConfigError, write_csv
from fame_nb.sweeps import load_run
from fame_nb.famousrec import FamouSRec, routing_table
from fame_nb.metrics import evaluate
from fame_nb.train import eval_options, get_device

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+', metavar='LABEL=RUN', help='finished FamouSRec run folders, each optionally named LABEL=')
    p.add_argument('--out', help='tidy CSV to write (run, infer_topk, split, metric, value)')
    a = p.parse_args()
    rows, gates = [], []
    for spec in a.runs:
        label, _, rd = spec.rpartition('=')
        model, cfg, data = load_run(rd)
        if not isinstance(model, FamouSRec): raise SystemExit(f"{rd}: a {cfg.model} run, not FamouSRec")
        model.eval(); ev = eval_options(cfg, get_device('cpu'))
        for k in range(1, model.K + 1):
            model.o.infer_topk = k
            for split in ('valid', 'test'):
                m = evaluate(model, data, split, **ev)
                rows += [{'run': label or rd, 'infer_topk': k, 'split': split, 'metric': n, 'value': v} for n, v in m.items()]
        G = routing_table(model, data, 'test', max_len=cfg.max_len).filter(like='gate_').to_numpy().max(1)
        gates.append({'run': label or rd, 'K': model.K, 'max gate mean': G.mean(), 'q25': np.quantile(G, .25),
                      'median': np.median(G), 'q75': np.quantile(G, .75)})
    res = pd.DataFrame(rows)
    print(res.pivot_table(index=['run', 'infer_topk'], columns=['split', 'metric'], values='value', sort=False)
             .loc[:, (slice(None), ['HR@10', 'NDCG@10', 'NDCG@20'])].round(4).to_string())
    print('\nlargest gate probability over test users:\n' + pd.DataFrame(gates).round(3).to_string(index=False))
    if a.out:
        write_csv(a.out, res.merge(pd.DataFrame(gates), on='run'))

if __name__ == '__main__':
    try: main()
    except ConfigError as e: raise SystemExit(f"error: {e}")
