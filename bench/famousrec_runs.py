"""Shared by the bench scripts that analyse trained FamouSRec runs: their `LABEL=RUN ... --out CSV` command line and the
loading of each run folder (model on the CPU, its configuration and its dataset)."""
import argparse
from fame_nb.sweeps import load_run
from fame_nb.famousrec import FamouSRec

def parse_runs(doc: str, columns: str) -> argparse.Namespace:
    "The command line `LABEL=RUN [LABEL=RUN ...] [--out CSV]` of a script whose docstring is `doc`; `columns` names the CSV's columns."
    p = argparse.ArgumentParser(description=doc.split('\n')[0])
    p.add_argument('runs', nargs='+', metavar='LABEL=RUN', help='finished FamouSRec run folders, each named LABEL= (the seed is read from the run)')
    p.add_argument('--out', help=f'tidy CSV to write ({columns})')
    return p.parse_args()

def famousrec_runs(specs):
    "Yield (label, model, cfg, data) for each `LABEL=RUN` of `specs` (the label defaults to the folder); a run that is not FamouSRec stops the script."
    for spec in specs:
        label, _, rd = spec.rpartition('=')
        model, cfg, data = load_run(rd)
        if not isinstance(model, FamouSRec): raise SystemExit(f"{rd}: a {cfg.model} run, not FamouSRec")
        yield label or rd, model, cfg, data
