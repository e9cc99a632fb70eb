"README.md is generated from nbs/index.ipynb and holds exactly the three runnable blocks that .ci/run uses."
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
from make_readme import readme_text

def test_readme_matches_index_notebook():
    assert (ROOT / 'README.md').read_text() == readme_text(), 'README.md is stale: run python tools/make_readme.py'

def shell_blocks(text): return [b.strip() for b in re.findall(r'```(?:sh|bash)\n(.*?)```', text, re.S)]

def test_readme_commands_are_the_ci_commands():
    blocks = shell_blocks((ROOT / 'README.md').read_text())
    assert len(blocks) == 3, blocks
    setup, job, tests = blocks
    assert setup == 'pip install -e ".[dev]"'
    assert job.startswith('fame-nb train') and '--dataset ml-100k' in job
    ci = (ROOT / '.ci' / 'run').read_text()
    assert setup in ci and tests in ci
    assert 'nbdev_test' in tests and 'pytest tests/' in tests
