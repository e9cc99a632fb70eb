"""The documentation site: `nbdev_proc_nbs` processes every notebook, and every processed page, rendered to HTML, loads in
headless Chromium without JavaScript errors and shows its figures and the API docs of its module.

Quarto is not available here, so each processed notebook (`_proc/*.ipynb`, what Quarto would render) is rendered with
`jupyter nbconvert --to html` instead and opened from a file:// URL. A small script injected at the top of each page
records JavaScript errors (uncaught exceptions, unhandled rejections, console.error), resources that failed to load and
the decoded size of every image; `--dump-dom` hands them back as attributes of the <html> element. The pages are opened
offline, so the CDN scripts nbconvert links (require.js, MathJax, the widget manager) fail to load; failed http(s)
resources are therefore reported but allowed, anything else is an error.

The test skips only when Chromium is absent and $CI is not set (`.ci/run` installs Chromium and sets CI).
"""
import ast, html, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
if CHROMIUM is None:
    if os.environ.get('CI'): pytest.fail('CI is set but Chromium is not installed (apt-get install -y chromium)', pytrace=False)
    pytest.skip('Chromium is not installed (apt-get install -y chromium); CI runs this test', allow_module_level=True)

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--virtual-time-budget=5000', '--dump-dom']

PROBE = """<script>
(function(){ var errs = [], res = [];
  function put(){ var d = document.documentElement; d.setAttribute('data-js-errors', JSON.stringify(errs)); d.setAttribute('data-res-errors', JSON.stringify(res)); }
  window.addEventListener('error', function(e){
    if (e instanceof ErrorEvent) errs.push(e.message + ' @ ' + e.filename + ':' + e.lineno);
    else res.push(String(e.target && (e.target.src || e.target.href) || '?').slice(0, 200));
    put(); }, true);
  window.addEventListener('unhandledrejection', function(e){ errs.push('unhandled rejection: ' + e.reason); put(); });
  var ce = console.error; console.error = function(){ errs.push('console.error: ' + Array.prototype.join.call(arguments, ' ')); put(); return ce.apply(console, arguments); };
  window.addEventListener('load', function(){ put(); var d = document.documentElement;
    d.setAttribute('data-images', JSON.stringify(Array.prototype.map.call(document.images, function(i){ return [i.src.slice(0, 22), i.naturalWidth]; })));
    d.setAttribute('data-loaded', '1'); });
  put(); })();
</script>"""

def _ignore(d, names):
    skip = {'.git', '.venv', 'venv', '_proc', '_docs', '.quarto', 'runs', '__pycache__', '.pytest_cache', '.build', 'bench', 'tests', '_cache'}
    return [n for n in names if n in skip or n.endswith('.safetensors')]

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Process a copy of the project with `nbdev_proc_nbs` and render every processed notebook to HTML."
    work = tmp_path_factory.mktemp('site')
    repo = work / 'repo'
    shutil.copytree(ROOT, repo, ignore=_ignore)
    env = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}
    if not shutil.which('quarto', path=env['PATH']):
        # nbdev_proc_nbs tries to install Quarto (sudo, download, pip install -e) when `quarto` is not on PATH; processing
        # the notebooks does not need it, so a stub that only exists stands in for it.
        stub = work / 'bin'; stub.mkdir()
        (stub / 'quarto').write_text('#!/bin/sh\necho "quarto is not installed (stub for nbdev_proc_nbs)" >&2\nexit 1\n')
        (stub / 'quarto').chmod(0o755)
        env['PATH'] = f"{stub}{os.pathsep}{env['PATH']}"
    r = subprocess.run([str(BIN / 'nbdev_proc_nbs')], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    failed = re.findall(r'Exception: (Error in notebook: .*? in cell \d+)', r.stdout + r.stderr)
    assert r.returncode == 0 and not failed, f"nbdev_proc_nbs failed: {sorted(set(failed)) or (r.stdout + r.stderr)[-3000:]}"
    nbs = sorted((repo / 'nbs').glob('*.ipynb'))
    procs = sorted((repo / '_proc').glob('*.ipynb'))
    assert [p.name for p in procs] == [p.name for p in nbs], 'nbdev_proc_nbs did not process every notebook'
    out = work / 'html'
    r = subprocess.run([str(BIN / 'jupyter'), 'nbconvert', '--to', 'html', '--output-dir', str(out), *map(str, procs)],
                       cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return repo, out

def default_exp(nb: Path):
    "The module a notebook exports (its `#| default_exp`), or None."
    for c in json.loads(nb.read_text())['cells']:
        if m := re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(c['source']), re.M): return m.group(1)

def documented_names(repo: Path, module: str) -> list:
    "Public functions and classes of `fame_nb.<module>` (its `__all__`), the names `show_doc` documents."
    tree = ast.parse((repo / 'fame_nb' / f"{module.replace('.', '/')}.py").read_text())
    defs = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    allv = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__'), [])
    return [n for n in allv if n in defs]

def n_image_outputs(nb: Path) -> int:
    "Number of image outputs stored in a notebook."
    return sum(any(k.startswith('image/') for k in o.get('data', {})) for c in json.loads(nb.read_text())['cells'] for o in c.get('outputs', []))

def open_in_chromium(page: Path, tmp: Path) -> tuple:
    "Load `page` (with the probe injected) in headless Chromium; returns (dom, attributes of <html>)."
    src = page.read_text()
    probed = tmp / f'probed-{page.name}'
    probed.write_text(re.sub(r'<head[^>]*>', lambda m: m.group(0) + PROBE, src, count=1))
    r = subprocess.run([CHROMIUM, *FLAGS, f'--user-data-dir={tmp / "profile"}', probed.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'<html[^>]*>', r.stdout)
    assert m, f'{page.name}: no <html> element in the DOM dump'
    attrs = {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', m.group(0))}
    return r.stdout, attrs

def pages():
    return sorted(p.stem for p in (ROOT / 'nbs').glob('*.ipynb'))

@pytest.mark.parametrize('name', pages())
def test_page_renders_in_chromium(site, name, tmp_path):
    repo, out = site
    page = out / f'{name}.html'
    assert page.is_file(), f'{name}: no HTML page'
    dom, attrs = open_in_chromium(page, tmp_path)
    assert attrs.get('data-loaded') == '1', f'{name}: the page did not finish loading'
    errors = json.loads(attrs.get('data-js-errors', '[]'))
    assert errors == [], f'{name}: JavaScript errors: {errors}'
    bad_res = [u for u in json.loads(attrs.get('data-res-errors', '[]')) if not u.startswith(('http://', 'https://'))]
    assert bad_res == [], f'{name}: local resources failed to load: {bad_res}'
    # figures: every image output of the processed notebook is an <img> with inline data that decoded
    imgs = json.loads(attrs.get('data-images', '[]'))
    data_imgs = [w for src, w in imgs if src.startswith('data:image/')]
    want = n_image_outputs(repo / '_proc' / f'{name}.ipynb')
    assert len(data_imgs) >= want, f'{name}: {want} image outputs but {len(data_imgs)} inline images in the page'
    assert all(w > 0 for w in data_imgs), f'{name}: an inline image did not decode: {imgs}'
    # API docs: one heading per public function / class of the notebook's module (the show_doc output)
    mod = default_exp(repo / 'nbs' / f'{name}.ipynb')
    if mod:
        heads = {html.unescape(re.sub(r'<[^>]+>', '', h)).replace('¶', '').strip() for h in re.findall(r'<h[2-4][^>]*>(.*?)</h[2-4]>', dom, re.S)}
        missing = [n for n in documented_names(repo, mod) if n not in heads]
        assert not missing, f'{name}: no API docs heading for {missing}'
    # a title and a one-line summary: nbdev turns `# Title` + `> summary` into the page's front matter (what the sidebar shows)
    front = json.loads((repo / '_proc' / f'{name}.ipynb').read_text())['cells'][0]
    fm = ''.join(front['source'])
    assert front['cell_type'] == 'raw' and re.search(r'^title: \S', fm, re.M) and re.search(r'^description: \S', fm, re.M), \
        f'{name}: no title / description front matter: {fm[:200]!r}'

def page_text(dom: str) -> str:
    "The visible text of a DOM dump, whitespace collapsed."
    dom = re.sub(r'<(script|style)[^>]*>.*?</\1>', ' ', dom, flags=re.S)
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', '', dom)))

def test_ablations_page_shows_figures(site, tmp_path):
    "The experiments page carries its figures (quick versions at least) and the case-study table."
    repo, out = site
    assert n_image_outputs(repo / '_proc' / '07_ablations.ipynb') >= 4
    dom, _ = open_in_chromium(out / '07_ablations.html', tmp_path)
    text = page_text(dom)
    for t in ('Fig. 6', 'Fig. 7', 'Table 4', 'Fig. 8', 'Fig. 9', 'fame-nb ablate heads', 'held-out test item'): assert t in text, t
