"""Each expert of trained FamouSRec runs ranked alone, beside the run's own inference (top-1 routing, or the plain mean of
the experts for a `--gate mean` run): is a model's accuracy one strong expert, or the mixture of several?

    OMP_NUM_THREADS=1 python bench/famousrec_experts_alone.py LABEL=RUN [LABEL=RUN ...] --out nbs/results/ml-100k/famousrec_experts_alone.csv

For each finished FamouSRec run folder: validation and test metrics (the run's own protocol) of the model as trained
and with every user sent to expert j (j = 1 .. K), the Fig. 5 evaluation of `fame_nb.famousrec.fixed_expert_metrics`,
here applied to any variant (the w/o-router mean of experts, homogeneous experts). Writes a tidy CSV atomically.
"""
import pandas as pd
from fame_nb.core import ConfigError, write_csv
from famousrec_runs import parse_runs, famousrec_runs   # bench/famousrec_runs.py
from fame_nb.famousrec import fixed_expert_metrics

def main():
    a = parse_runs(__doc__, 'run, seed, gate, routing, split, metric, value')
    rows = []
    for label, model, cfg, data in famousrec_runs(a.runs):
        gate = cfg.flat()['gate']                         # load_run gives the model on the CPU
        own = 'mean of experts' if gate == 'mean' else 'learned routing'
        for split in ('valid', 'test'):
            fx = fixed_expert_metrics(model, data, split, exclude_history=not cfg.keep_history, max_len=cfg.max_len)
            for routing, m in fx.iterrows():
                rows += [{'run': label, 'seed': cfg.seed, 'gate': gate,
                          'routing': own if routing == 'learned routing' else routing, 'split': split, 'metric': k, 'value': v}
                         for k, v in m.items()]
    res = pd.DataFrame(rows)
    print(res[res.metric == 'NDCG@10'].pivot_table(index=['run', 'routing'], columns=['split', 'seed'], values='value', sort=False)
             .round(4).to_string())
    if a.out: write_csv(a.out, res); print(f"wrote {a.out}")

if __name__ == '__main__':
    try: main()
    except ConfigError as e: raise SystemExit(f"error: {e}")
