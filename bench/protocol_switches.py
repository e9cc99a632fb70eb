"""How much each protocol switch moves a model's numbers: finished runs re-evaluated under every evaluation switch.

    python bench/protocol_switches.py --out nbs/results/beauty/protocols LABEL=RUN_DIR [LABEL=RUN_DIR ...] [--split test]

Each finished run (config.json + model.safetensors) is evaluated on --split under its own protocol and under each switch
of fame_nb.compare.SWITCHES (history items kept, ties random / optimistic, 100 uniform / popularity-sampled negatives);
no retraining. The training-side switch (--loss bce) is a run of its own: give it as another LABEL=RUN_DIR. Writes
<out>.csv (tidy) and <out>.md (switches x runs, value and change against the run's own protocol).
"""
import argparse, sys
from pathlib import Path
from fame_nb.core import write_csv, write_text
from fame_nb.compare import protocol_switches, switch_table

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+', metavar='LABEL=RUN_DIR')
    p.add_argument('--out', required=True, help='output path without extension')
    p.add_argument('--split', default='test', choices=['valid', 'test'])
    p.add_argument('--device', default='cpu')
    a = p.parse_args(argv)
    runs = dict(r.split('=', 1) for r in a.runs)
    df = protocol_switches(runs, split=a.split, device=a.device)
    write_csv(f'{a.out}.csv', df)
    t = switch_table(df)
    cols = [f'{r} {m}' for r, m in t.columns]
    md = '\n'.join(['| switch | ' + ' | '.join(cols) + ' |', '|' + '---|' * (len(cols) + 1)] +
                   [f'| {i} | ' + ' | '.join(map(str, row)) + ' |' for i, row in zip(t.index, t.to_numpy())])
    cmd = 'python bench/protocol_switches.py ' + ' '.join(sys.argv[1:])
    write_text(f'{a.out}.md', f"{a.split} split; change against each run's own protocol in brackets.\n\n{md}\n\ncommand: `{cmd}`\n")
    print(t.to_string())

if __name__ == '__main__':
    main()
