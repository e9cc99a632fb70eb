"README.md is generated from nbs/index.ipynb; its two runnable blocks are the Makefile's main job and CI's test command."
import re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from make_readme import readme_text

def test_readme_matches_index_notebook():
    assert (ROOT / 'README.md').read_text() == readme_text(), 'README.md is stale: run python tools/make_readme.py'

def shell_blocks(text): return [b.strip() for b in re.findall(r'```(?:sh|bash)\n(.*?)```', text, re.S)]

def make_recipe(target: str) -> str:
    "The recipe lines of a Makefile target, joined."
    m = re.search(rf'^{target}:.*\n((?:\t.*\n)+)', (ROOT / 'Makefile').read_text(), re.M)
    assert m, f'no {target} target in the Makefile'
    return m.group(1)

def test_readme_commands_are_the_ci_commands():
    blocks = shell_blocks((ROOT / 'README.md').read_text())
    assert blocks == ['make main', 'make test'], blocks
    assert 'fame-nb train --dataset ml-100k --model fame' in make_recipe('main')
    assert 'nbdev_test && pytest tests/' in make_recipe('test')
    ci = [l.strip() for l in (ROOT / '.ci' / 'run').read_text().splitlines() if l.strip() and not l.lstrip().startswith('#')]
    assert 'make test' in ci and not any('pip install' in l for l in ci)       # CI installs exactly as the README says
