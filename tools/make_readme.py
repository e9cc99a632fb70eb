"""Write README.md from nbs/index.ipynb (stand-in for `nbdev_readme`, which needs Quarto).

Cells marked `#| hide` are dropped, `#|` directive lines are removed, and the notebook is rendered to Markdown
with nbconvert. `python tools/make_readme.py --check` exits 1 when README.md differs from what it would write."""
import copy, os, sys, tempfile
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parents[1]

def readme_text(nb_path=ROOT / 'nbs' / 'index.ipynb') -> str:
    "The README's Markdown for the index notebook."
    nb = nbformat.read(str(nb_path), as_version=4)
    nb = copy.deepcopy(nb)
    cells = []
    for c in nb.cells:
        lines = c.source.splitlines()
        if c.cell_type == 'code' and any(l.strip().replace(' ', '') in ('#|hide', '#|include:false') for l in lines): continue
        if c.cell_type == 'code': c.source = '\n'.join(l for l in lines if not l.lstrip().startswith('#|')).strip('\n')
        if c.cell_type == 'code' and not c.source and not c.get('outputs'): continue
        cells.append(c)
    nb.cells = cells
    body, _ = MarkdownExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    note = '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n'
    return note + body.strip() + '\n'

def main():
    text, readme = readme_text(), ROOT / 'README.md'
    if '--check' in sys.argv:
        ok = readme.exists() and readme.read_text() == text
        if not ok: print('README.md is out of date: run python tools/make_readme.py', file=sys.stderr)
        sys.exit(0 if ok else 1)
    fd, tmp = tempfile.mkstemp(dir=ROOT, prefix='.README.'); os.close(fd)
    Path(tmp).write_text(text); os.replace(tmp, readme)

if __name__ == '__main__': main()
