"""Where trained FamouSRec runs send their test users: the share routed (top-1) to each expert, and how peaked the gate is,
for any variant (e.g. the full model against w/o L_bal, whose only pressure towards using every expert is gone).

    OMP_NUM_THREADS=1 python bench/famousrec_routing_shares.py LABEL=RUN [LABEL=RUN ...] --out nbs/results/ml-100k/famousrec_routing_shares.csv

For each finished FamouSRec run folder: the fraction of test users whose top-1 expert is j (j = 1 .. K, named by kind),
the mean top gate probability and the mean gate entropy (nats; log K for a uniform gate), from
`fame_nb.famousrec.routing_table`. Writes a tidy CSV atomically.
"""
import numpy as np, pandas as pd
from fame_nb.core import ConfigError, write_csv
from famousrec_runs import parse_runs, famousrec_runs   # bench/famousrec_runs.py
from fame_nb.famousrec import routing_table

def main():
    a = parse_runs(__doc__, 'run, seed, statistic, value')
    rows = []
    for label, model, cfg, data in famousrec_runs(a.runs):
        rt = routing_table(model, data, 'test', max_len=cfg.max_len)
        g = rt.filter(like='gate_').to_numpy()
        kinds = model.kinds
        share = np.bincount(rt.expert.to_numpy(), minlength=len(kinds)) / len(rt)
        stats = {**{f'share {j + 1}: {k}': s for j, (k, s) in enumerate(zip(kinds, share))},
                 'top gate (mean)': g.max(1).mean(), 'gate entropy (mean, nats)': -(g * np.log(np.clip(g, 1e-12, None))).sum(1).mean()}
        rows += [{'run': label, 'seed': cfg.seed, 'statistic': k, 'value': float(v)} for k, v in stats.items()]
    res = pd.DataFrame(rows)
    print(res.pivot_table(index='statistic', columns=['run', 'seed'], values='value', sort=False).round(3).to_string())
    if a.out: write_csv(a.out, res); print(f"wrote {a.out}")

if __name__ == '__main__':
    try: main()
    except ConfigError as e: raise SystemExit(f"error: {e}")
