"""Raw-file loaders (`fame_nb.movielens`, `fame_nb.amazon`: Amazon 2014, ML-1M, ML-20M + HetRec, ML-100K KG and IMDb, S3-Rec
files with item metadata, Instruments), single-file and multi-source downloads served on 127.0.0.1, first-download checksum
records, the processed cache (checksums, bit flips), interrupted downloads and preparations, the `fame-nb data` command, and a
matrix of bad input files, each ending in one line that names the file and line."""
import gzip, hashlib, http.server, io, json, os, shutil, signal, subprocess, sys, threading, time, zipfile
from functools import partial
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from fame_nb import data as D, movielens as ML, amazon as AZ, facets as F, download as DL

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
    h = Path(root) / ML.HETREC; h.mkdir(parents=True, exist_ok=True)
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
    labels, edges = F.price_bins([1.0, 50.0, None, 100.0, -3, 99.99, 10.0])
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
    (f'{ML.HETREC}/movie_actors.dat', 'movieID\tactorID\tactorName\tranking\n1\ta\tAnna\tfirst\n', 'movie_actors.dat:2: expected an integer ranking'),
    (f'{ML.HETREC}/movie_directors.dat', 'movieID,directorID,directorName\n', 'movie_directors.dat:1: expected the header'),
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
    got = ML.read_ratings(tmp_path / 'ratings.csv')
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
    assert F.most_prolific(pairs).to_dict() == {1: 'm.a', 2: 'm.b', 3: 'm.a', 4: 'm.c'}     # a, b, c: 2 films each

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
    monkeypatch.setattr(spec, 'sources', tuple(D.Source(f'{base}/{f}', (f,)) for f in AZ.amazon_files('Beauty')))
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
    with pytest.raises(D.DataError, match='not a complete gzip file'): DL.download_file(f'{base}/x.json.gz', tmp_path / 'd' / 'x.json.gz', progress=False)
    assert listing(tmp_path / 'd') == []

def test_short_body_discarded(server, tmp_path):
    www, base = server
    (www / 'x.json.gz').write_bytes(os.urandom(300_000))
    with pytest.raises(D.DataError, match='ended early|broke off'):
        DL.download_file(f'{base}/short/x.json.gz', tmp_path / 'd' / 'x.json.gz', progress=False)
    assert listing(tmp_path / 'd') == []

def test_checksum_mismatch_single_file(server, tmp_path):
    www, base = server
    (www / 'f.kg').write_text('a\tb\n')
    with pytest.raises(D.DataError, match='SHA-256'): DL.download_file(f'{base}/f.kg', tmp_path / 'f.kg', sha256='0' * 64, progress=False)
    assert listing(tmp_path) == ['www', 'www/f.kg']

def test_killed_download_leaves_no_final_file(server, tmp_path):
    www, base = server
    write_gz_lines(www / 'big.json.gz', [json.dumps({'i': i, 'pad': os.urandom(500).hex()}) for i in range(3000)])   # ~1.5 MB gz
    dest = tmp_path / 'd' / 'big.json.gz'
    code = f'from fame_nb import download as DL; DL.download_file({base + "/stall/big.json.gz"!r}, {str(dest)!r}, progress=False)'
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
    DL.download_file(f'{base}/big.json.gz', dest, progress=False)             # the next run downloads it whole
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
    (www / 'hetrec.zip').write_bytes(_zip({f: src / ML.HETREC / f for f in ('movie_directors.dat', 'movie_actors.dat')}))   # files at the top
    spec = D.DATASETS['ml-20m']
    monkeypatch.setattr(spec, 'url', f'{base}/ml-20m.zip'); monkeypatch.setattr(spec, 'md5', hashlib.md5(blob).hexdigest())
    monkeypatch.setattr(spec, 'sources', (D.Source(f'{base}/hetrec.zip', ('movie_directors.dat', 'movie_actors.dat'), ML.HETREC),))
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

# ---------------------------------------------------------------- new datasets: real files and small files in their formats

BEAUTY_FINGERPRINT = '9e5db2b7ab91c2fda8dfbc1ce2f525912246a51d52b025d2a394d194a93ade98'   # recorded by Beauty runs before the metadata loader

def test_beauty_text_keeps_the_fingerprint_of_its_runs(tmp_path):
    from fame_nb.train import data_fingerprint
    with_meta = D.load_dataset('beauty', data_dir=SHARED, cache=False)
    assert with_meta.facets == ['category', 'brand'] and with_meta.items['text'].str.startswith('"title": ').mean() > 0.99
    (tmp_path / 'amazon-beauty').mkdir()
    shutil.copy(SHARED / 'amazon-beauty' / 'Beauty.txt', tmp_path / 'amazon-beauty' / 'Beauty.txt')
    plain = D.load_dataset('beauty', data_dir=tmp_path, cache=False)                    # the sequence file alone: no text, no facets
    assert plain.facets == [] and data_fingerprint(plain) == data_fingerprint(with_meta) == BEAUTY_FINGERPRINT
    assert data_fingerprint(D.load_dataset('ml-100k-imdb', data_dir=SHARED)) == data_fingerprint(D.load_dataset('ml-100k', data_dir=SHARED))

IMDB_HEADER = 'movie_genres,movie_id,movie_title,poster_url,movie_url,description,rating,num_review,director,writer,cast,age_rating,year,movie_length,genre'

def imdb_row(mid, title, desc, directors, cast, year):
    return (f'"[1]",{mid},"{title}","[]",http://www.imdb.com/title/tt{mid:07d}/,"{desc}",7.0,1K,"{directors!r}","[]","{cast!r}",PG,"{year}",1h 30min,"[\'Drama\']"')

def make_ml100k_small(root, details=True):
    "Six users rating four films (u.data, u.item) and IMDb details in the scraped CSV's format, quirks included."
    d = Path(root) / 'ml-100k'; d.mkdir(parents=True)
    (d / 'u.data').write_text(''.join(f'{u}\t{i}\t{1 + (u + i) % 5}\t{880000000 + 10 * u + i}\n' for u in range(1, 7) for i in range(1, 5)))
    flags = lambda *g: '|'.join('1' if j in g else '0' for j in range(19))
    (d / 'u.item').write_bytes(('1|Toy Story (1995)|01-Jan-1995||http://x|' + flags(3, 4, 5) + '\n'
                                '2|Misï¿½rables, Les (1995)|01-Jan-1995||http://x|' + flags(8) + '\n'
                                '3|Heat (1995)|01-Jan-1995||http://x|' + flags(1, 6) + '\n'
                                '4|Magnificent Seven, The (1954)|01-Jan-1954||http://x|' + flags(1, 18) + '\n').encode('latin-1'))
    if details:
        (Path(root) / 'ml-100k-imdb').mkdir()
        rows = [imdb_row(1, 'Toy Story (1995)', 'A cowboy doll\nis jealous.', ['John Lasseter'], ['Tom Hanks', 'Tim Allen'], '1995.0'),
                imdb_row(2, 'Misérables, Les (1995)', "It looks like we don't have any Plot Summaries for this title yet.", ['Claude Lelouch'], ['Jean-Paul Belmondo'], '1995.0'),
                imdb_row(3, 'Heat (1995)', 'A heist.', ['nan'], ['nan'], 'Episode aired Apr 10, 2016'),
                imdb_row(4, 'Magnificent Seven, The (1954)', 'A remake.', ['Antoine Fuqua'], ['Denzel Washington'], '2016.0')]
        (Path(root) / 'ml-100k-imdb' / ML.IMDB_FILE).write_text(IMDB_HEADER + '\n' + '\n'.join(rows) + '\n')
    return root

def test_ml100k_imdb_small_files(tmp_path):
    make_ml100k_small(tmp_path)
    with pytest.warns(UserWarning, match='IMDb details used for 2 of the 4 movies'):
        d = D.load_dataset('ml-100k-imdb', data_dir=tmp_path, min_count=0, cache=False)
    it = d.items.set_index('raw_id')
    assert d.facets == ['genre', 'director', 'cast']                                       # no KG folder: no *_kg facets
    assert it.loc[1, 'text'] == ('"title": Toy Story; "year": 1995; "description": A cowboy doll is jealous.; "genres": Animation, '
                                 'Children\'s, Comedy; "directors": John Lasseter; "cast": Tom Hanks, Tim Allen')
    assert it.loc[2, 'title'] == 'Misérables, Les' and '"description"' not in it.loc[2, 'text']   # accents back, placeholder plot dropped
    assert (it.loc[2, 'director'], it.loc[2, 'cast']) == ('Claude Lelouch', 'Jean-Paul Belmondo')
    for i in (3, 4): assert pd.isna(it.loc[i, 'director']) and pd.isna(it.loc[i, 'cast'])     # a TV episode and a remake: dropped
    assert it.loc[4, 'text'] == '"title": Magnificent Seven, The; "year": 1954; "genres": Action, Western'
    assert (d.extra['imdb']['no_imdb_year'], d.extra['imdb']['other_year'], d.extra['imdb']['rows_used']) == (1, 1, 2)
    assert any('placeholder plot' in n for n in d.extra['notes'])

def test_instruments_real_and_s3rec_meta_by_path(tmp_path):
    d = D.load_dataset('instruments', data_dir=SHARED, cache=False)
    assert (d.n_users, d.n_items, d.n_interactions, d.facets) == (17112, 6250, 136226, [])
    (tmp_path / 'Toys_and_Games.txt').write_text(''.join(f"{u} {' '.join(str(1 + (u + j) % 5) for j in range(5))}\n" for u in range(1, 6)))
    (tmp_path / 'Toys_and_Games_item_meta.tsv').write_text('item_id\tasin\ttitle\tbrand\tcategories\n' + ''.join(
        f'{i}\tB{i}\tToy {i} &amp; Co\t{"LEGO" if i % 2 else "Unknown"}\t{"Building Toys | Sets" if i < 3 else "Games"}\n' for i in range(1, 6)))
    t = D.load_dataset(str(tmp_path / 'Toys_and_Games.txt'), min_count=0)
    it = t.items.set_index('raw_id')
    assert t.facets == ['category', 'brand'] and it.loc[1, 'text'] == '"title": Toy 1 & Co; "category": Toys & Games, Building Toys, Sets; "brand": LEGO'
    assert pd.isna(it.loc[2, 'brand']) and it.loc[5, 'category'] == 'Games'

def test_ml1m_sequence_file_with_hetrec_directors_real():
    d = D.load_dataset('ml-1m', data_dir=SHARED)
    assert (d.n_users, d.extra['source'], d.facets) == (6040, 'ML-1M.txt', ['genre', 'director'])
    assert d.items.set_index('raw_id').loc[1, 'text'] == '"title": Toy Story; "year": 1995; "genres": Animation, Children\'s, Comedy; "directors": John Lasseter'

# ---------------------------------------------------------------- the processed cache: checksums

def test_cache_bit_flip_detected_and_rebuilt(ml100k_root, tmp_path):
    import pyarrow as pa, pyarrow.parquet as pq
    c = tmp_path / 'c'
    fresh, info = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    p = info['path'] / 'seqs.parquet'
    orig, col = p.read_bytes(), pq.read_table(p).column('item').to_numpy()
    for pos in range(len(orig) // 2, len(orig)):                       # a flip that parquet still reads, with other item ids
        blob = bytearray(orig); blob[pos] ^= 1
        try: ids = pq.read_table(pa.BufferReader(bytes(blob))).column('item').to_numpy()
        except Exception: continue
        if len(ids) == len(col) and not np.array_equal(ids, col): break
    else: pytest.fail('no readable bit flip found')
    p.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match=r'unreadable or damaged .*seqs.parquet: SHA-256 mismatch'):
        d, info2 = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert not info2['from_cache'] and [s.tolist() for s in d.seqs] == [s.tolist() for s in fresh.seqs]
    d3, info3 = D.prepare_dataset('ml-100k', data_dir=ml100k_root, cache_dir=c)
    assert info3['from_cache'] and [s.tolist() for s in d3.seqs] == [s.tolist() for s in fresh.seqs]

# ---------------------------------------------------------------- bad input: one line naming file and line, exit 2, nothing written

def _s3rec(root, seqs='1 1 2 3\n2 2 3 4\n3 3 4 1\n', meta=None):
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    (root / 'Toys_and_Games.txt').write_bytes(seqs if isinstance(seqs, bytes) else seqs.encode())
    if meta is not None: (root / 'Toys_and_Games_item_meta.tsv').write_text(meta)
    return str(root / 'Toys_and_Games.txt')

META4 = 'item_id\tasin\ttitle\tbrand\tcategories\n1\tA1\tBall\tX\tGames\n2\tA2\tDoll\tY\tDolls\n3\tA3\tKite\tX\tOutdoor\n4\tA4\tCar\tZ\tVehicles\n'

def _lcrec(root, inter='{\n "0": [0, 1, 2],\n "1": [1, 2]\n}', ids='B0\t0\nB1\t1\nB2\t2\n'):
    d = Path(root) / 'amazon-instruments'; d.mkdir(parents=True, exist_ok=True)
    (d / 'Instruments.inter.json').write_text(inter); (d / 'Instruments.item2id').write_text(ids)
    return 'instruments'

def _ml100k_bad(root, udata=None, uitem_extra=''):
    make_ml100k_small(root, details=False)
    if udata is not None: (Path(root) / 'ml-100k' / 'u.data').write_text(udata)
    if uitem_extra:
        with open(Path(root) / 'ml-100k' / 'u.item', 'ab') as f: f.write(uitem_extra.encode('latin-1'))
    return 'ml-100k'

def _imdb_bad(root, extra_row):
    make_ml100k_small(root)
    with open(Path(root) / 'ml-100k-imdb' / ML.IMDB_FILE, 'a') as f: f.write(extra_row + '\n')
    return 'ml-100k-imdb'

def _ml1m_seq(root, seqs, movies='1::Toy Story (1995)::Comedy\n2::Heat (1995)::Action\n3::Jumanji (1995)::Adventure\n'):
    d = Path(root) / 'ml-1m'; d.mkdir(parents=True, exist_ok=True)
    (d / 'ML-1M.txt').write_text(seqs); (d / 'movies.dat').write_bytes(movies.encode('latin-1'))
    return 'ml-1m'

BAD_INPUTS = {
    's3rec-decimal-point': (lambda r: _s3rec(r, '1 1 2 3\n2 2 1.5 4\n'), "Toys_and_Games.txt:2: expected integer ids 'user item item ...' in plain decimal (0 to 2^63-1), got '1.5'"),
    's3rec-20-digits': (lambda r: _s3rec(r, '1 1 2 3\n12345678901234567890 2 3\n'), "Toys_and_Games.txt:2: expected integer ids 'user item item ...' in plain decimal (0 to 2^63-1), got '12345678901234567890' (outside the int64 range)"),
    's3rec-underscore': (lambda r: _s3rec(r, '1 1 2 3\n1_5 2 3\n'), "Toys_and_Games.txt:2: expected integer ids 'user item item ...' in plain decimal (0 to 2^63-1), got '1_5'"),
    's3rec-plus-sign': (lambda r: _s3rec(r, '+3 1 2 3\n'), "Toys_and_Games.txt:1: expected integer ids 'user item item ...' in plain decimal (0 to 2^63-1), got '+3'"),
    's3rec-same-user-twice': (lambda r: _s3rec(r, '1 1 2 3\n2 2 3\n1 4 5\n'), 'Toys_and_Games.txt:3: user 1 already has a sequence on line 1; expected one line per user'),
    's3rec-latin-1-byte': (lambda r: _s3rec(r, b'1 1 2 3\n2 2 3 caf\xe9\n'), 'Toys_and_Games.txt:2: byte 0xe9 is not valid utf-8'),
    's3rec-binary': (lambda r: _s3rec(r, gzip.compress(b'1 1 2 3\n')), 'Toys_and_Games.txt:1: binary content (a NUL byte)'),
    's3rec-meta-unknown-item': (lambda r: _s3rec(r, meta=META4 + '9\tA9\tGhost\tX\tGames\n'), 'Toys_and_Games_item_meta.tsv:6: item_id 9 does not occur in Toys_and_Games.txt'),
    's3rec-meta-duplicate-id': (lambda r: _s3rec(r, meta=META4 + '2\tA5\tAgain\tX\tGames\n'), 'Toys_and_Games_item_meta.tsv:6: item_id 2 repeats line 3'),
    's3rec-item-without-meta': (lambda r: _s3rec(r, meta=META4.replace('4\tA4\tCar\tZ\tVehicles\n', '')), 'Toys_and_Games.txt:2: item 4 has no line in Toys_and_Games_item_meta.tsv'),
    'ml100k-item-without-u.item-line': (lambda r: _ml100k_bad(r, '1\t1\t3\t880000001\n1\t9\t3\t880000002\n'), 'u.data:2: item 9 has no line in u.item'),
    'ml100k-decimal-user': (lambda r: _ml100k_bad(r, '1\t1\t3\t880000001\n1.5\t2\t3\t880000002\n'), "u.data:2: expected an integer user in plain decimal, got '1.5'"),
    'ml100k-u.item-duplicate': (lambda r: _ml100k_bad(r, uitem_extra='3|Again (1999)|01-Jan-1999||http://x|' + '|'.join('0' * 19) + '\n'), 'u.item:5: movie id 3 repeats line 3'),
    'imdb-duplicate-movie': (lambda r: _imdb_bad(r, imdb_row(3, 'Heat (1995)', 'Again.', ['Michael Mann'], ['Al Pacino'], '1995.0')), f'{ML.IMDB_FILE}:7: movie_id 3 repeats line 5'),
    'imdb-unknown-movie': (lambda r: _imdb_bad(r, imdb_row(77, 'Ghost (1990)', 'No.', ['X'], ['Y'], '1990.0')), f'{ML.IMDB_FILE}:7: movie_id 77 has no line in u.item'),
    'ml1m-same-user-twice': (lambda r: _ml1m_seq(r, '1 1 2 3\n2 2 3\n1 3 1\n'), 'ML-1M.txt:3: user 1 already has a sequence on line 1'),
    'ml1m-item-without-movie': (lambda r: _ml1m_seq(r, '1 1 2 3\n2 2 3 8\n'), 'ML-1M.txt:2: item 8 has no line in movies.dat'),
    'ml1m-movies-duplicate': (lambda r: _ml1m_seq(r, '1 1 2 3\n', '1::A (1995)::Comedy\n2::B (1995)::Drama\n3::C (1995)::Drama\n2::D (1995)::Drama\n'), 'movies.dat:4: movie id 2 repeats line 2'),
    'instruments-duplicate-user': (lambda r: _lcrec(r, inter='{\n "0": [0, 1, 2],\n "0": [1, 2]\n}'), "Instruments.inter.json:3: key '0' appears twice in one object"),
    'instruments-float-item': (lambda r: _lcrec(r, inter='{\n "0": [0, 1, 2],\n "1": [1, 2.5]\n}'), 'Instruments.inter.json:3: user 1: expected integer item indices (0 to 2^63-1), got 2.5'),
    'instruments-unknown-item': (lambda r: _lcrec(r, inter='{\n "0": [0, 1, 2],\n "1": [1, 5]\n}'), 'Instruments.inter.json:3: user 1: item index 5 has no line in Instruments.item2id'),
    'instruments-duplicate-asin': (lambda r: _lcrec(r, ids='B0\t0\nB1\t1\nB0\t2\n'), "Instruments.item2id:3: asin 'B0' repeats line 1"),
    'amazon-meta-duplicate-asin': (lambda r: (make_amazon(r, meta=amazon_meta() + [amazon_meta()[1]]), 'beauty')[1], "meta_Beauty.json.gz:9: asin 'B001' repeats line 2"),
}

@pytest.mark.parametrize('case', list(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    from fame_nb.cli import main
    make, needle = BAD_INPUTS[case]
    root = tmp_path / 'data'; root.mkdir()
    name = make(root)
    before = listing(root)
    with pytest.raises(SystemExit) as e:
        main(['data', '--dataset', name, '--data-dir', str(root), '--cache-dir', str(tmp_path / 'cache'), '--min-count', '0', '--no-download', '--quiet'])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1 and 'Traceback' not in err, err
    assert needle in err, err
    assert listing(root) == before and not (tmp_path / 'cache').exists()                    # nothing written, nothing cached

def test_cli_data_shows_facets_coverage_and_text(capsys, tmp_path):
    from fame_nb.cli import main
    main(['data', '--dataset', 'beauty', '--data-dir', str(SHARED), '--cache-dir', str(tmp_path / 'c'), '--quiet'])
    out = capsys.readouterr().out
    assert '22,363' in out and '12,101' in out and '198,502' in out
    for needle in ('coverage', 'category', 'brand', 'item text: 12,101 of 12,101 items', 'example (item ', '"category": Beauty, ',
                   'note: 7 of the 12,101 items have an empty title'):
        assert needle in out, (needle, out)

def test_cli_data_ml1m_names_only_missing_files(tmp_path, capsys):
    from fame_nb.cli import main
    (tmp_path / 'ml-1m').mkdir(); (tmp_path / 'ml-1m' / 'movies.dat').write_text('1::A (1995)::Comedy\n')
    with pytest.raises(SystemExit) as e: main(['data', '--dataset', 'ml-1m', '--data-dir', str(tmp_path), '--no-download'])
    err = capsys.readouterr().err
    assert e.value.code == 2 and 'missing ml-1m/ratings.dat (or instead ml-1m/ML-1M.txt)' in err and 'movies.dat' not in err, err
