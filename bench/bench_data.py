"""Preparation time and peak memory of the dataset loaders (`fame_nb.movielens`, `fame_nb.amazon` through
`fame_nb.data.prepare_dataset`), and load time from the processed cache (checksums verified).

Cases (each measured in a fresh subprocess, so peak RSS is that of one preparation):
  ml-100k      real GroupLens ML-100K + Freebase KG      ($FAME_NB_DATA)
  ml-100k-imdb real ML-100K + IMDb details + KG          ($FAME_NB_DATA)
  beauty       real S3-Rec Beauty.txt + Beauty_item_meta.tsv ($FAME_NB_DATA)
  ml-1m        real ML-1M.txt + movies.dat + HetRec directors ($FAME_NB_DATA)
  instruments  real Instruments.inter.json + item2id     ($FAME_NB_DATA)
  beauty-raw   generated McAuley-format reviews_Beauty_5.json.gz + meta_Beauty.json.gz of Beauty's size
               (198,502 reviews, 22,363 users, 12,101 items; 259,204 metadata lines, Python literals)
  ml-20m-size  generated ML-20M-format ratings.csv (20,000,263 rows, 138,493 users, 26,744 movies), movies.csv
               and HetRec director/actor files

usage: python bench/bench_data.py [--work DIR] [--cases ...]    (generated files are kept in DIR for reuse)
Results: printed, and written to bench/results/bench_data.json.
"""
import argparse, gzip, json, os, resource, subprocess, sys, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
CASES = ['ml-100k', 'ml-100k-imdb', 'beauty', 'ml-1m', 'instruments', 'beauty-raw', 'ml-20m-size']

def rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

# ------------------------------------------------------------------ generators

def gen_beauty_raw(root: Path, seed=0):
    "McAuley-format Beauty files of Table 1's size; each user and item has >= 5 reviews, so the 5-core keeps all."
    d = root / 'amazon-beauty'
    if (d / 'meta_Beauty.json.gz').is_file(): return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 22_363, 12_101, 198_502
    lens = 5 + rng.multinomial(n - 5 * n_users, rng.dirichlet(np.full(n_users, 0.5)))
    pop = 1 / (np.arange(n_items) + 20.0) ** 0.9
    items = np.concatenate([np.tile(np.arange(n_items), 5), rng.choice(n_items, n - 5 * n_items, p=pop / pop.sum())])
    rng.shuffle(items)
    t0 = 1_100_000_000 + rng.integers(0, 300_000_000, n_users)
    words = ['moisturizer', 'smell', 'skin', 'great', 'product', 'bottle', 'price', 'color', 'hair', 'recommend', 'dry', 'soft']
    tmp = d / '.reviews.tmp'
    with gzip.open(tmp, 'wt', encoding='utf-8') as f:
        j = 0
        for u, k in zip(range(n_users), lens):
            for s in range(k):
                i = items[j]; j += 1
                t = int(t0[u] + 86400 * 7 * s)
                text = ' '.join(rng.choice(words, 80))
                f.write(json.dumps({'reviewerID': f'A{u:013d}', 'asin': f'B{i:09d}', 'reviewerName': 'Jane D.', 'helpful': [1, 2],
                                    'reviewText': text, 'overall': 5.0, 'summary': 'Nice', 'unixReviewTime': t,
                                    'reviewTime': time.strftime('%m %d, %Y', time.gmtime(t))}) + '\n')
    tmp.rename(d / 'reviews_Beauty_5.json.gz')
    cats = ['Skin Care', 'Makeup', 'Hair Care', 'Fragrance', 'Tools & Accessories', 'Bath & Body']
    tmp = d / '.meta.tmp'
    with gzip.open(tmp, 'wt', encoding='utf-8') as f:
        for i in range(259_204):
            m = {'asin': f'B{i:09d}', 'title': f'Product {i} &amp; Co', 'description': ' '.join(rng.choice(words, 90)),
                 'related': {'also_bought': [f'B{x:09d}' for x in rng.integers(0, 259_204, 40)]},
                 'salesRank': {'Beauty': int(rng.integers(1, 10**6))}, 'imUrl': f'http://ecx.images-amazon.com/images/I/{i}.jpg',
                 'categories': [['Beauty', cats[i % 6], 'Sub']]}
            if i % 7: m['price'] = round(float(rng.lognormal(2.7, 0.8)), 2)
            if i % 5: m['brand'] = f'Brand {i % 2076}'
            f.write(repr(m) + '\n')
    tmp.rename(d / 'meta_Beauty.json.gz')

def gen_ml20m(root: Path, seed=0):
    "ML-20M-format files: 20,000,263 ratings of 138,493 users (>= 20 each) over 26,744 movies (Zipf-like), + HetRec files."
    import pyarrow as pa, pyarrow.csv as pacsv
    d, h = root / 'ml-20m', root / 'hetrec2011-movielens-2k'
    if (d / 'ratings.csv').is_file() and (h / 'movie_actors.dat').is_file(): return
    d.mkdir(parents=True, exist_ok=True); h.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users, n_items, n = 138_493, 26_744, 20_000_263
    lens = 20 + rng.multinomial(n - 20 * n_users, rng.dirichlet(np.full(n_users, 0.3)))
    pop = 1 / (np.arange(n_items) + 5.0) ** 1.6
    movie_ids = np.sort(rng.choice(131_262, n_items, replace=False)) + 1
    users = np.repeat(np.arange(1, n_users + 1, dtype=np.int32), lens)
    items = movie_ids[rng.choice(n_items, n, p=pop / pop.sum())].astype(np.int32)
    ts = (np.repeat(rng.integers(820_000_000, 1_400_000_000, n_users), lens) + rng.integers(0, 30_000_000, n)).astype(np.int64)
    rating = (rng.integers(1, 11, n) / 2).astype(np.float32)
    tmp = d / '.ratings.tmp'
    with open(tmp, 'wb') as f:
        f.write(b'userId,movieId,rating,timestamp\n')
        for s in range(0, n, 2_000_000):
            t = pa.table({'userId': users[s:s + 2_000_000], 'movieId': items[s:s + 2_000_000], 'rating': rating[s:s + 2_000_000],
                          'timestamp': ts[s:s + 2_000_000]})
            pacsv.write_csv(t, f, write_options=pacsv.WriteOptions(include_header=False))
    tmp.rename(d / 'ratings.csv')
    genres = ['Action', 'Adventure', 'Animation', 'Children', 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy', 'Film-Noir',
              'Horror', 'IMAX', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western']
    with open(d / 'movies.csv', 'w', encoding='utf-8') as f:
        f.write('movieId,title,genres\n')
        for m in movie_ids:
            g = '|'.join(genres[j] for j in sorted(set(rng.integers(0, 19, rng.integers(1, 4)))))
            f.write(f'{m},"Movie {m}, The ({1900 + m % 115})",{g}\n')
    het = movie_ids[:10_197]
    with open(h / 'movie_directors.dat', 'w', encoding='latin-1') as f:
        f.write('movieID\tdirectorID\tdirectorName\n')
        for m in het: k = int(rng.integers(0, 4060)); f.write(f'{m}\td{k}\tDirector {k}\n')
    with open(h / 'movie_actors.dat', 'w', encoding='latin-1') as f:
        f.write('movieID\tactorID\tactorName\tranking\n')
        for m in het:
            for r, k in enumerate(rng.integers(0, 95_321, rng.integers(5, 40)), 1): f.write(f'{m}\ta{k}\tActor {k}\t{r}\n')

# ------------------------------------------------------------------ one measurement (in a subprocess)

def run_case(case: str, work: Path, mode: str) -> dict:
    base = rss_mb()
    from fame_nb import data as D, movielens, amazon, readers
    root = work / 'data' if case in ('beauty-raw', 'ml-20m-size') else Path(os.environ['FAME_NB_DATA'])
    name = {'beauty-raw': 'beauty', 'ml-20m-size': 'ml-20m'}.get(case, case)
    cache = work / 'cache' / case
    parts = {}
    if mode == 'prepare':                       # time the main steps of a preparation
        def timed(fn, key):
            def w(*a, **k):
                t = time.perf_counter(); r = fn(*a, **k); parts[key] = parts.get(key, 0) + time.perf_counter() - t; return r
            return w
        for fn in ('read_ratings', 'read_int_table', 'read_seq_file', 'read_imdb_details', 'read_item_meta', 'read_inter_json',
                   'read_amazon_reviews', 'read_amazon_meta', 'build_seqdata', 'add_hetrec_facets', 'add_kg_facets', 'save_seqdata'):
            for mod in (D, movielens, amazon, readers):            # patch the name where each module looks it up
                if hasattr(mod, fn): setattr(mod, fn, timed(getattr(mod, fn), fn))
    after_import = rss_mb()
    t = time.perf_counter()
    data, info = D.prepare_dataset(name, data_dir=root, cache_dir=cache, rebuild=(mode == 'prepare'), progress=False)
    secs = time.perf_counter() - t
    t = time.perf_counter(); np.split(np.concatenate(data.seqs), np.cumsum([len(s) for s in data.seqs])[:-1]); split_s = time.perf_counter() - t
    return {'case': case, 'mode': mode, 'seconds': round(secs, 3), 'from_cache': info['from_cache'], 'peak_rss_mb': round(rss_mb(), 1),
            'rss_after_imports_mb': round(after_import, 1), 'rss_at_start_mb': round(base, 1), 'stats': data.stats(),
            'facets': data.facets, 'steps_s': {k: round(v, 3) for k, v in parts.items()}, 'resplit_s': round(split_s, 3)}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--work', default='/tmp/fame_nb_bench', help='folder for generated files and caches')
    p.add_argument('--cases', nargs='+', default=CASES, choices=CASES)
    p.add_argument('--run', nargs=2, metavar=('CASE', 'MODE'), help=argparse.SUPPRESS)
    a = p.parse_args()
    work = Path(a.work)
    if a.run:
        print(json.dumps(run_case(a.run[0], work, a.run[1]))); return
    results = []
    for case in a.cases:
        t = time.perf_counter()
        if case == 'beauty-raw': gen_beauty_raw(work / 'data')
        if case == 'ml-20m-size': gen_ml20m(work / 'data')
        gen = time.perf_counter() - t
        if gen > 1: print(f'{case}: generated the files in {gen:.0f} s', flush=True)
        for mode in ('prepare', 'load'):
            r = subprocess.run([sys.executable, __file__, '--work', str(work), '--run', case, mode], capture_output=True, text=True)
            if r.returncode: sys.exit(f'{case} {mode} failed:\n{r.stderr}')
            res = json.loads(r.stdout.strip().splitlines()[-1]); results.append(res)
            s = res['stats']
            print(f"{case:12s} {mode:8s} {res['seconds']:8.2f} s  peak RSS {res['peak_rss_mb']:7.0f} MB (after imports {res['rss_after_imports_mb']:.0f} MB)  "
                  f"{s['users']:,} users {s['items']:,} items {s['interactions']:,} interactions  {res['steps_s'] or ''}", flush=True)
    out = HERE / 'results'; out.mkdir(exist_ok=True)
    (out / 'bench_data.json').write_text(json.dumps(results, indent=1))

if __name__ == '__main__': main()
