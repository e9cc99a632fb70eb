"""Raw-file loaders of `fame_nb.data` (Amazon 2014, ML-1M, ML-20M + HetRec, ML-100K KG), single-file and multi-source
downloads served on 127.0.0.1, first-download checksum records, the processed cache, interrupted downloads and
preparations, and the `fame-nb data` command."""
import gzip, hashlib, http.server, io, json, os, shutil, signal, subprocess, sys, threading, time, warnings, zipfile
from functools import partial
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from fame_nb import data as D

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).resolve().parents[2] / 'shared' / 'data'))

# ---------------------------------------------------------------- files in the official formats

def write_gz_lines(path, lines):
    with gzip.open(path, 'wt', encoding='utf-8') as f: f.writelines(l + '\n' for l in lines)

def amazon_reviews(n_users=12, n_items=8, per_user=6):
    "A 5-core review set: user u reviews items u..u+per_user-1 (mod n_items), one day apart."
    return [json.dumps({'reviewerID': f'A{u:03d}', 'asin': f'B{(u + j) % n_items:03d}', 'reviewerName': 'x', 'overall': 4.0,
                        'reviewText': 'fine "really"', 'unixReviewTime': 1_300_000_000 + 86400 * (u + j)})
            for u in range(n_users) for j in range(per_user)]

def amazon_meta(n_items=8, skip=(7,)):
    "Python-literal metadata lines (single quotes: not JSON); item 2 has no price, item 7 no line at all."
    out = []
    for i in range(n_items):
        if i in skip: continue
        d = {'asin': f'B{i:03d}', 'title': f'Product {i} &amp; more', 'description': f"It's item {i}.",
             'categories': [['Beauty', ['Skin Care', 'Makeup', 'Hair Care'][i % 3], 'Sub']], 'brand': f'Brand{i % 2}',
             'salesRank': {'Beauty': 100 + i}, 'related': {'also_bought': ['B000', 'B001']}}
        if i != 2: d['price'] = float(10 * (i + 1))
        out.append(repr(d))
    out.append(repr({'asin': 'B999', 'title': 'never reviewed'}))
    return out

def make_amazon(root, category='Beauty', folder='amazon-beauty', reviews=None, meta=None):
    d = Path(root) / folder; d.mkdir(parents=True, exist_ok=True)
    write_gz_lines(d / f'reviews_{category}_5.json.gz', reviews if reviews is not None else amazon_reviews())
    write_gz_lines(d / f'meta_{category}.json.gz', meta if meta is not None else amazon_meta())
    return d

RATINGS = [(u, m, 1 + (u * m) % 5, 978_300_000 + 100 * u + m) for u in range(1, 9) for m in range(1, 9) if (u + m) % 4]

def make_ml20m(root, hetrec=True):
    root = Path(root); (root / 'ml-20m').mkdir(parents=True, exist_ok=True)
    (root / 'ml-20m/ratings.csv').write_text('userId,movieId,rating,timestamp\n' + ''.join(f'{u},{m},{r}.0,{t}\n' for u, m, r, t in RATINGS))
    (root / 'ml-20m/movies.csv').write_text('movieId,title,genres\n' + ''.join(
        f'{m},"Movie, The {m} ({1990 + m})",{"Comedy|Drama" if m % 2 else "Drama|Comedy"}\n' for m in range(1, 9)))
    if hetrec: make_hetrec(root)
    return root

def make_hetrec(root):
    h = Path(root) / D.HETREC; h.mkdir(parents=True, exist_ok=True)
    (h / 'movie_directors.dat').write_bytes('movieID\tdirectorID\tdirectorName\n1\tjose\tJosé Ñúñez\n1\tsecond\tSecond One\n3\tbob\tBob\n'.encode('latin-1'))
    (h / 'movie_actors.dat').write_bytes(('movieID\tactorID\tactorName\tranking\n'
                                          '1\tc\tCarla\t3\n1\ta\tAnna\t1\n1\tb\tBéla\t2\n3\tz\tZoe\t2\n3\ty\tYann\t2\n').encode('latin-1'))
    return h

# ---------------------------------------------------------------- a local HTTP server with failure modes

class Handler(http.server.SimpleHTTPRequestHandler):
    "Serves `directory`; /short/NAME sends half of NAME with the full Content-Length; /stall/NAME sends half and waits."
    release = None
    def log_message(self, *a, **k): pass
    def do_GET(self):
        mode, _, name = self.path.lstrip('/').partition('/')
        if mode not in ('short', 'stall'): return super().do_GET()
        blob = (Path(self.directory) / name).read_bytes()
        self.send_response(200); self.send_header('Content-Length', str(len(blob))); self.end_headers()
        self.wfile.write(blob[: len(blob) // 2]); self.wfile.flush()
        if mode == 'stall': self.release.wait(30)
        self.close_connection = True

@pytest.fixture
def server(tmp_path):
    www = tmp_path / 'www'; www.mkdir()
    release = threading.Event()
    handler = type('H', (Handler,), {'release': release})
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(handler, directory=str(www)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f'http://127.0.0.1:{httpd.server_address[1]}'
    release.set(); httpd.shutdown()

def visible(p): return sorted(str(x.relative_to(p)) for x in Path(p).rglob('*') if not any(part.startswith('.') for part in x.relative_to(p).parts))
def listing(p): return sorted(str(x.relative_to(p)) for x in Path(p).rglob('*'))

@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    "Each test gets its own processed cache."
    monkeypatch.setenv('FAME_NB_CACHE', str(tmp_path / 'cache'))

# ---------------------------------------------------------------- Amazon 2014

def test_amazon_loader_facets_text_and_unknowns(tmp_path):
    make_amazon(tmp_path)
    d = D.load_dataset('beauty', data_dir=tmp_path, cache=False)
    assert (d.n_users, d.n_items, d.n_interactions) == (12, 8, 72)          # a 5-core file is left unchanged
    assert d.facets == ['category', 'brand', 'price']
    it = d.items.set_index('raw_id')
    assert it.loc['B000', 'text'] == '"title": Product 0 & more; "description": It\'s item 0.; "category": Beauty, Skin Care, Sub; "brand": Brand0'
    assert it.loc['B001', 'category'] == 'Makeup' and it.loc['B001', 'brand'] == 'Brand1'
    assert pd.isna(it.loc['B002', 'price']) and it.loc['B002', 'brand'] == 'Brand0'   # missing price -> unknown price only
    assert it.loc['B007', 'text'] == '' and all(pd.isna(it.loc['B007', c]) for c in ('category', 'brand', 'price', 'title'))
    assert d.extra['items_without_meta'] == 1
    assert d.extra['price_edges'] == pytest.approx(np.linspace(0, 70, 11).tolist())      # max price 70 (item 6)
    assert it.loc['B006', 'price'].startswith('p9: ') and it.loc['B000', 'price'].startswith('p1: ')
    codes = d.facet_codes('price')
    assert codes[0] == -1 and (codes[1:][d.items['price'].isna().to_numpy()] == -1).all()
    assert 'B999' not in set(it.index)

def test_amazon_sequences_are_chronological_with_file_order_ties(tmp_path):
    revs = [json.dumps({'reviewerID': 'U', 'asin': a, 'unixReviewTime': t}) for a, t in [('X3', 5), ('X1', 1), ('X2', 5), ('X0', 3)]]
    make_amazon(tmp_path, reviews=revs, meta=[])
    d = D.load_dataset('beauty', data_dir=tmp_path, min_count=0, cache=False)
    assert list(d.item_ids[d.seqs[0]]) == ['X1', 'X0', 'X3', 'X2']

def test_amazon_meta_json_lines_also_accepted(tmp_path):
    make_amazon(tmp_path, meta=[json.dumps({'asin': 'B000', 'title': 'JSON line', 'price': 3.5, 'categories': [['Beauty', 'Fragrance']]})])
    d = D.load_dataset('beauty', data_dir=tmp_path, cache=False)
    it = d.items.set_index('raw_id')
    assert it.loc['B000', 'title'] == 'JSON line' and it.loc['B000', 'category'] == 'Fragrance'

def test_amazon_category_prefers_own_tree(tmp_path):
    meta = [repr({'asin': 'B000', 'categories': [['Health & Personal Care', 'Vitamins'], ['Beauty', 'Bath & Body']]}),
            repr({'asin': 'B001', 'categories': [['Health & Personal Care', 'Vitamins']]})]
    make_amazon(tmp_path, meta=meta)
    it = D.load_dataset('beauty', data_dir=tmp_path, cache=False).items.set_index('raw_id')
    assert it.loc['B000', 'category'] == 'Bath & Body' and it.loc['B001', 'category'] == 'Vitamins'

@pytest.mark.parametrize('which,mutate,needle', [
    ('meta', lambda lines: lines[:3] + ["{'asin': 'B003', 'title': 'unterminated"] + lines[4:], 'meta_Beauty.json.gz:4: expected one Python dict literal'),
    ('meta', lambda lines: lines[:1] + ["{'title': 'no asin'}"] + lines[1:], "meta_Beauty.json.gz:2: metadata record without an 'asin'"),
    ('reviews', lambda lines: lines[:5] + ['{"reviewerID": "A", "asin": "B000"}'] + lines[5:], "reviews_Beauty_5.json.gz:6: review without 'unixReviewTime'"),
    ('reviews', lambda lines: lines[:2] + ['not json'] + lines[2:], 'reviews_Beauty_5.json.gz:3: expected one JSON object'),
])
def test_amazon_bad_lines_named(tmp_path, which, mutate, needle):
    rev, meta = amazon_reviews(), amazon_meta()
    if which == 'meta': meta = mutate(meta)
    else: rev = mutate(rev)
    make_amazon(tmp_path, reviews=rev, meta=meta)
    with pytest.raises(D.DataError, match=needle.replace('(', r'\(')) as e: D.load_dataset('beauty', data_dir=tmp_path, cache=False)
    assert '\n' not in str(e.value)

@pytest.mark.parametrize('name', ['reviews_Beauty_5.json.gz', 'meta_Beauty.json.gz'])
def test_amazon_truncated_gzip_named(tmp_path, name):
    d = make_amazon(tmp_path, meta=amazon_meta() * 20, reviews=amazon_reviews() * 3)
    blob = (d / name).read_bytes(); (d / name).write_bytes(blob[: int(len(blob) * 0.6)])
    with pytest.raises(D.DataError, match=rf'{name}:\d+: truncated or corrupt gzip'): D.load_dataset('beauty', data_dir=tmp_path, cache=False)

def test_amazon_falls_back_to_s3rec_file(tmp_path):
    (tmp_path / 'amazon-toys').mkdir()
    (tmp_path / 'amazon-toys' / 'Toys_and_Games.txt').write_text(''.join(f'{u} ' + ' '.join(str(i) for i in range(1, 7)) + '\n' for u in range(1, 7)))
    d = D.load_dataset('toys', data_dir=tmp_path, cache=False)
    assert (d.name, d.n_users, d.n_items, d.facets) == ('toys', 6, 6, [])

def test_price_bins_equal_width():
    labels, edges = D.price_bins([1.0, 50.0, None, 100.0, -3, 99.99, 10.0])
    assert edges == pytest.approx(np.linspace(0, 100, 11).tolist())
    assert [l and l[:2] for l in labels] == ['p0', 'p5', None, 'p9', None, 'p9', 'p1']

# ---------------------------------------------------------------- MovieLens 1M / 20M / HetRec / KG

def test_ml20m_with_hetrec(tmp_path):
    make_ml20m(tmp_path)
    d = D.load_dataset('ml-20m', data_dir=tmp_path, cache=False)
    assert d.facets == ['genre', 'director', 'cast'] and d.n_interactions == len(RATINGS)
    it = d.items.set_index('raw_id')
    assert it.loc[1, 'director'] == 'José Ñúñez' and it.loc[1, 'cast'] == 'Anna'        # first listed / best ranking
    assert it.loc[3, 'cast'] == 'Zoe'                                                  # ranking tie: first listed
    assert it.loc[1, 'text'] == '"title": Movie, The 1; "year": 1991; "genres": Comedy, Drama; "directors": José Ñúñez, Second One; "cast": Anna, Béla, Carla'
    assert it.loc[2, 'genre'] == 'Drama' and pd.isna(it.loc[2, 'director']) and pd.isna(it.loc[2, 'cast'])
    assert d.extra['hetrec']['items_with_several_directors'] == 1
    seq0 = d.item_ids[d.seqs[0]].tolist()
    assert seq0 == sorted(seq0)                                                        # timestamps grow with the movie id

def test_ml20m_needs_hetrec_and_ml1m_does_not(tmp_path):
    make_ml20m(tmp_path, hetrec=False)
    with pytest.raises(D.DataError, match='movie_directors.dat'): D.load_dataset('ml-20m', data_dir=tmp_path, download=False)
    (tmp_path / 'ml-1m').mkdir()
    (tmp_path / 'ml-1m/ratings.dat').write_bytes(''.join(f'{u}::{m}::{r}::{t}\n' for u, m, r, t in RATINGS).encode('latin-1'))
    (tmp_path / 'ml-1m/movies.dat').write_bytes(''.join(f'{m}::Café {m} (1999)::Drama\n' for m in range(1, 9)).encode('latin-1'))
    d = D.load_dataset('ml-1m', data_dir=tmp_path, cache=False)
    assert d.facets == ['genre'] and 'genre only' in d.extra['notes'][0]
    assert d.items.set_index('raw_id').loc[1, 'title'] == 'Café 1'
    make_hetrec(tmp_path)
    assert D.load_dataset('ml-1m', data_dir=tmp_path, cache=False).facets == ['genre', 'director', 'cast']

@pytest.mark.parametrize('fname,content,needle', [
    ('ml-20m/ratings.csv', 'userId,movieId,rating,timestamp\n1,1,4.0,10\n2,1,4.0\n', 'ratings.csv:3: expected 4'),
    ('ml-20m/ratings.csv', 'user,movie,rating,timestamp\n1,1,4.0,10\n', "ratings.csv:1: expected the header 'userId,movieId,rating,timestamp'"),
    ('ml-20m/ratings.csv', 'userId,movieId,rating,timestamp\n1,1,4.0,10\n1,2,4.0,\n', 'ratings.csv:3: expected an integer timestamp'),
    ('ml-20m/movies.csv', 'movieId,title,genres\nx,"A (1999)",Drama\n', "movies.csv:2: expected 'movieId,title,genres'"),
    (f'{D.HETREC}/movie_actors.dat', 'movieID\tactorID\tactorName\tranking\n1\ta\tAnna\tfirst\n', 'movie_actors.dat:2: expected an integer ranking'),
    (f'{D.HETREC}/movie_directors.dat', 'movieID,directorID,directorName\n', 'movie_directors.dat:1: expected the header'),
])
def test_ml20m_bad_files_named(tmp_path, fname, content, needle):
    make_ml20m(tmp_path)
    (tmp_path / fname).write_text(content)
    with pytest.raises(D.DataError, match=needle) as e: D.load_dataset('ml-20m', data_dir=tmp_path, cache=False)
    assert '\n' not in str(e.value)

def test_read_ratings_vectorised_matches_pandas(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({'userId': rng.integers(1, 500, 50_000), 'movieId': rng.integers(1, 3000, 50_000),
                       'rating': rng.integers(1, 11, 50_000) / 2, 'timestamp': rng.integers(800_000_000, 1_400_000_000, 50_000)})
    df.to_csv(tmp_path / 'ratings.csv', index=False)
    got = D.read_ratings(tmp_path / 'ratings.csv')
    assert got['user'].tolist() == df['userId'].tolist() and got['ts'].tolist() == df['timestamp'].tolist()

@pytest.fixture
def ml100k_root(tmp_path):
    root = tmp_path / 'data'; (root / 'ml-100k').mkdir(parents=True)
    for f in ('u.data', 'u.item'):
        shutil.copy(SHARED / 'ml-100k' / f, root / 'ml-100k' / f); (root / 'ml-100k' / f).chmod(0o644)
    return root

def test_ml100k_without_kg_is_genre_only(ml100k_root):
    d = D.load_dataset('ml-100k', data_dir=ml100k_root)
    assert d.facets == ['genre'] and 'genre only' in d.extra['notes'][0]

def test_ml100k_kg_facets_and_reversed_triples(ml100k_root):
    shutil.copytree(SHARED / 'ml-100k-kg', ml100k_root / 'ml-100k-kg')
    for p in [ml100k_root / 'ml-100k-kg', *(ml100k_root / 'ml-100k-kg').iterdir()]: p.chmod(0o755)
    d = D.load_dataset('ml-100k', data_dir=ml100k_root, cache=False)
    assert d.facets == ['genre', 'director', 'cast']
    t = D.facet_class_table(d, ks=(4, 8))
    assert t.loc['genre', 'classes_ge8'] == 16 and t.loc['director', 'classes_ge8'] == 2 and t.loc['cast', 'classes_ge8'] == 24
    assert t.loc['director', 'classes_ge4'] == 33
    assert t.loc['director', 'classes_ge4'] < D.facet_class_table(D.load_dataset('ml-100k', data_dir=ml100k_root, min_count=0, cache=False)).loc['director', 'classes_ge4'] == 60
    # the same triples written person -> film give the same labels (the loader orients by which end is a film)
    kg = ml100k_root / 'ml-100k-kg' / 'ml-100k.kg'
    df = pd.read_csv(kg, sep='\t', dtype=str)
    df.columns = ['head_id:token', 'relation_id:token', 'tail_id:token']
    rev = df.copy(); rev[['head_id:token', 'tail_id:token']] = df[['tail_id:token', 'head_id:token']].to_numpy()
    rev.to_csv(kg, sep='\t', index=False)
    e = D.load_dataset('ml-100k', data_dir=ml100k_root, cache=False)
    pd.testing.assert_frame_equal(d.items, e.items)

def test_most_prolific_ties_smallest_id():
    pairs = pd.DataFrame({'item': [1, 1, 2, 3, 3, 4], 'value': ['m.b', 'm.a', 'm.b', 'm.a', 'm.c', 'm.c']})
    assert D.most_prolific(pairs).to_dict() == {1: 'm.a', 2: 'm.b', 3: 'm.a', 4: 'm.c'}     # a, b, c: 2 films each

def test_kg_header_checked(ml100k_root):
    (ml100k_root / 'ml-100k-kg').mkdir()
    (ml100k_root / 'ml-100k-kg/ml-100k.link').write_text('item:token\tentity:token\n1\tm.x\n')
    (ml100k_root / 'ml-100k-kg/ml-100k.kg').write_text('head_id:token\trelation_id:token\ttail_id:token\n')
    with pytest.raises(D.DataError, match="ml-100k.link:1: expected the header 'item_id:token entity_id:token'"):
        D.load_dataset('ml-100k', data_dir=ml100k_root, cache=False)

# ---------------------------------------------------------------- downloads

def test_amazon_downloaded_from_two_files_with_first_download_record(server, tmp_path, monkeypatch):
    www, base = server
    src = make_amazon(tmp_path / 'src')
    for f in src.iterdir(): shutil.copy(f, www / f.name)
    spec = D.DATASETS['beauty']
    monkeypatch.setattr(spec, 'sources', tuple(D.Source(f'{base}/{f}', (f,)) for f in D.amazon_files('Beauty')))
    root = tmp_path / 'data'; root.mkdir()
    d = D.load_dataset('beauty', data_dir=root)
    assert d.n_interactions == 72 and d.facets == ['category', 'brand', 'price']
    assert listing(root) == ['amazon-beauty', 'amazon-beauty/meta_Beauty.json.gz', 'amazon-beauty/reviews_Beauty_5.json.gz', 'downloads.json']
    rec = json.loads((root / 'downloads.json').read_text())
    blob = (www / 'meta_Beauty.json.gz').read_bytes()
    assert rec[f'{base}/meta_Beauty.json.gz']['sha256'] == hashlib.sha256(blob).hexdigest()
    assert rec[f'{base}/meta_Beauty.json.gz']['size'] == len(blob)
    # a later download of the same URL must match the record
    (root / 'amazon-beauty' / 'meta_Beauty.json.gz').unlink()
    write_gz_lines(www / 'meta_Beauty.json.gz', amazon_meta(skip=()))
    with pytest.raises(D.DataError, match='differs from the first one recorded'): D.load_dataset('beauty', data_dir=root)
    assert not (root / 'amazon-beauty' / 'meta_Beauty.json.gz').exists()
    assert visible(root) == ['amazon-beauty', 'amazon-beauty/reviews_Beauty_5.json.gz', 'downloads.json']
    assert listing(root) == visible(root)                                     # no temporary file left

def test_truncated_gzip_download_discarded(server, tmp_path):
    www, base = server
    write_gz_lines(www / 'x.json.gz', amazon_reviews() * 50)
    blob = (www / 'x.json.gz').read_bytes(); (www / 'x.json.gz').write_bytes(blob[: len(blob) // 2])
    with pytest.raises(D.DataError, match='not a complete gzip file'): D.download_file(f'{base}/x.json.gz', tmp_path / 'd' / 'x.json.gz', progress=False)
    assert listing(tmp_path / 'd') == []

def test_short_body_discarded(server, tmp_path):
    www, base = server
    (www / 'x.json.gz').write_bytes(os.urandom(300_000))
    with pytest.raises(D.DataError, match='ended early|broke off'):
        D.download_file(f'{base}/short/x.json.gz', tmp_path / 'd' / 'x.json.gz', progress=False)
    assert listing(tmp_path / 'd') == []

def test_checksum_mismatch_single_file(server, tmp_path):
    www, base = server
    (www / 'f.kg').write_text('a\tb\n')
    with pytest.raises(D.DataError, match='SHA-256'): D.download_file(f'{base}/f.kg', tmp_path / 'f.kg', sha256='0' * 64, progress=False)
    assert listing(tmp_path) == ['www', 'www/f.kg']

def test_killed_download_leaves_no_final_file(server, tmp_path):
    www, base = server
    write_gz_lines(www / 'big.json.gz', [json.dumps({'i': i, 'pad': os.urandom(500).hex()}) for i in range(3000)])   # ~1.5 MB gz
    dest = tmp_path / 'd' / 'big.json.gz'
    code = f'from fame_nb import data as D; D.download_file({base + "/stall/big.json.gz"!r}, {str(dest)!r}, progress=False)'
    p = subprocess.Popen([sys.executable, '-c', code])
    try:
        for _ in range(300):
            parts = list((tmp_path / 'd').glob('.big.json.gz.*.part')) if (tmp_path / 'd').exists() else []
            if parts and parts[0].stat().st_size > 0: break
            time.sleep(0.05)
        else: pytest.fail('the download never started')
    finally:
        p.kill(); p.wait()
    assert not dest.exists()                                               # only a hidden .part file may remain
    assert visible(tmp_path / 'd') == []
    D.download_file(f'{base}/big.json.gz', dest, progress=False)             # the next run downloads it whole
    assert dest.read_bytes() == (www / 'big.json.gz').read_bytes()

def _zip(files: dict, folder=None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, path in files.items(): z.write(path, f'{folder}/{name}' if folder else name)
    return buf.getvalue()

def test_ml20m_two_archives_one_without_checksum(server, tmp_path, monkeypatch):
    www, base = server
    src = make_ml20m(tmp_path / 'src')
    blob = _zip({f: src / 'ml-20m' / f for f in ('ratings.csv', 'movies.csv')}, 'ml-20m')
    (www / 'ml-20m.zip').write_bytes(blob)
    (www / 'hetrec.zip').write_bytes(_zip({f: src / D.HETREC / f for f in ('movie_directors.dat', 'movie_actors.dat')}))   # files at the top
    spec = D.DATASETS['ml-20m']
    monkeypatch.setattr(spec, 'url', f'{base}/ml-20m.zip'); monkeypatch.setattr(spec, 'md5', hashlib.md5(blob).hexdigest())
    monkeypatch.setattr(spec, 'sources', (D.Source(f'{base}/hetrec.zip', ('movie_directors.dat', 'movie_actors.dat'), D.HETREC),))
    root = tmp_path / 'data'
    root.mkdir()
    d = D.load_dataset('ml-20m', data_dir=root)
    assert d.facets == ['genre', 'director', 'cast']
    assert list(json.loads((root / 'downloads.json').read_text())) == [f'{base}/hetrec.zip']   # only the file without a published MD5
    assert listing(root) == visible(root)

def test_optional_sources_only_on_request(server, tmp_path, monkeypatch, ml100k_root):
    www, base = server
    for f in ('ml-100k.kg', 'ml-100k.link'): shutil.copy(SHARED / 'ml-100k-kg' / f, www / f)
    spec = D.DATASETS['ml-100k']
    monkeypatch.setattr(spec, 'sources', tuple(D.Source(f'{base}/{s.files[0]}', s.files, s.folder, sha256=s.sha256, optional=True) for s in spec.sources))
    assert D.load_dataset('ml-100k', data_dir=ml100k_root).facets == ['genre']          # load_dataset never fetches optional files
    d, info = D.prepare_dataset('ml-100k', data_dir=ml100k_root, optional=True, progress=False)
    assert d.facets == ['genre', 'director', 'cast'] and not info['from_cache']            # new input files: a new preparation
    assert not (ml100k_root / 'downloads.json').exists()                                  # known SHA-256: nothing recorded
    monkeypatch.setattr(spec, 'sources', tuple(D.Source(s.url + '.missing', s.files, 'other-kg', optional=True) for s in spec.sources))
    with pytest.warns(UserWarning, match='optional files of ml-100k not downloaded'):
        D.prepare_dataset('ml-100k', data_dir=ml100k_root, optional=True, progress=False)

# ---------------------------------------------------------------- processed cache

def test_cache_keys_follow_parameters(ml100k_root, tmp_path, monkeypatch):
    c = tmp_path / 'c'
    a, ia = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    b, ib = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not ia['from_cache'] and ib['from_cache'] and ia['path'] == ib['path']
    assert ib['seconds'] < 0.5
    _, ik = D.prepare_dataset('ml-100k', data_dir=ml100k_root, min_count=3, cache_dir=c)
    assert not ik['from_cache'] and '-k3-' in ik['path'].name
    monkeypatch.setattr(D, 'TEMPLATE_VERSION', 99)
    _, it = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not it['from_cache'] and '-t99-' in it['path'].name and not ia['path'].exists()   # stale preparation removed
    monkeypatch.undo(); monkeypatch.setenv('FAME_NB_CACHE', str(tmp_path / 'cache'))
    with open(ml100k_root / 'ml-100k' / 'u.data', 'a') as f: f.write('1\t1\t5\t893286638\n')
    _, iu = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not iu['from_cache'] and iu['path'] != ia['path']
    _, ir = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c, rebuild=True)
    assert not ir['from_cache'] and ir['path'] == iu['path']
    _, ino = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=tmp_path / 'none', cache=False)
    assert ino['path'] is None and not (tmp_path / 'none').exists()

def test_cached_equals_fresh_amazon(tmp_path):
    make_amazon(tmp_path)
    fresh = D.load_dataset('beauty', data_dir=tmp_path, cache=False)
    D.load_dataset('beauty', data_dir=tmp_path)
    cached, info = D.prepare_dataset('beauty', data_dir=tmp_path)
    assert info['from_cache']
    pd.testing.assert_frame_equal(fresh.items, cached.items)
    assert [s.tolist() for s in fresh.seqs] == [s.tolist() for s in cached.seqs]
    assert list(fresh.user_ids) == list(cached.user_ids) and list(fresh.item_ids) == list(cached.item_ids)
    assert (fresh.facets, fresh.extra) == (cached.facets, cached.extra)

KILL_IN_WRITE = '''
import os, signal, sys, pyarrow.parquet as pq
from fame_nb import data as D
orig = pq.write_table
def write_then_die(*a, **k):
    orig(*a, **k); os.kill(os.getpid(), signal.SIGKILL)
pq.write_table = write_then_die
D.prepare_dataset('ml-100k', data_dir=sys.argv[1], cache_dir=sys.argv[2])
'''

def test_killed_preparation_is_rebuilt(ml100k_root, tmp_path):
    c = tmp_path / 'c'
    r = subprocess.run([sys.executable, '-c', KILL_IN_WRITE, str(ml100k_root), str(c)])
    assert r.returncode == -signal.SIGKILL
    assert visible(c) == [] and any(p.name.startswith('.tmp-') for p in c.iterdir())      # a hidden temp folder at most
    d, info = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not info['from_cache'] and d.n_users == 943
    d2, info2 = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert info2['from_cache'] and d2.n_interactions == d.n_interactions

def test_cache_write_failure_is_only_a_warning(ml100k_root, tmp_path, monkeypatch):
    import pyarrow.parquet as pq
    calls = []
    def full_disk(*a, **k):
        calls.append(1)
        if len(calls) == 2: raise OSError(28, 'No space left on device')
        return orig(*a, **k)
    orig = pq.write_table
    monkeypatch.setattr(pq, 'write_table', full_disk)
    with pytest.warns(UserWarning, match='could not write the processed cache'):
        d, info = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=tmp_path / 'c')
    assert d.n_users == 943 and info['path'] is None and listing(tmp_path / 'c') == []

def test_corrupt_cache_entry_rebuilt(ml100k_root, tmp_path):
    c = tmp_path / 'c'
    _, info = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    (info['path'] / 'seqs.parquet').write_bytes(b'garbage')
    with pytest.warns(UserWarning, match='unreadable'): d, info2 = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not info2['from_cache'] and d.n_users == 943
    assert D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)[1]['from_cache']

# ---------------------------------------------------------------- fame-nb data

EXE = shutil.which('fame-nb', path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

def fame_nb(*args):
    r = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, env={**os.environ, 'FAME_NB_DATA': str(SHARED)})
    return r.returncode, r.stdout, r.stderr

@pytest.mark.skipif(EXE is None, reason='the fame-nb command is not installed')
def test_cli_data_prepare_list_and_errors(tmp_path):
    make_amazon(tmp_path / 'data')
    code, out, err = fame_nb('data', '--dataset', 'beauty', '--data-dir', tmp_path / 'data', '--cache-dir', tmp_path / 'c', '--k', '2', '3')
    assert code == 0, err
    assert 'prepared into' in out and 'classes_ge2' in out and 'classes_ge3' in out
    for f in ('category', 'brand', 'price'): assert f in out
    code, out, err = fame_nb('data', '--list', '--data-dir', tmp_path / 'data')
    assert code == 0
    row = next(l for l in out.splitlines() if l.strip().startswith('beauty'))
    assert 'yes' in row and str(tmp_path / 'data' / 'amazon-beauty') in row
    assert 'no' in next(l for l in out.splitlines() if l.strip().startswith('ml-20m'))
    blob = (tmp_path / 'data/amazon-beauty/meta_Beauty.json.gz').read_bytes()
    (tmp_path / 'data/amazon-beauty/meta_Beauty.json.gz').write_bytes(blob[:40])
    for argv, needle in [(['--dataset', 'beauty', '--data-dir', tmp_path / 'data', '--no-cache'], 'meta_Beauty.json.gz:1: truncated or corrupt gzip'),
                         (['--dataset', 'ml-1b'], "unknown dataset 'ml-1b'"),
                         (['--dataset', 'ml-20m', '--no-download', '--data-dir', tmp_path / 'data'], 'ml-20m/ratings.csv'),
                         (['--dataset', 'beauty', '--min-count', '-1'], '--min-count must be >= 0'),
                         ([], 'one of the arguments --dataset --list is required')]:
        code, out, err = fame_nb('data', *argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and 'Traceback' not in err and needle in err, (argv, err)
