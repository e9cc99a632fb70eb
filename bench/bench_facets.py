"""How well does each SupCon facet subspace separate its labels, compared with the raw text embedding?

    python bench/bench_facets.py --dataset ml-100k --facets genre,director,cast --K 4

Items are split into training (70%) and held-out (30%) items. A `FacetProjector` is pre-trained with alternating
SupCon (fair P×K sampler) on the training items' labels only. For every facet, a cosine k-NN classifier fitted on the
training items predicts the held-out items' labels, once from the raw text embedding and once from each facet subspace;
the silhouette score of held-out items (classes with >= 2 held-out items) is reported too. Only items whose label
belongs to a class with >= --score-k training items (default: K, the classes the sampler could use) are scored, so runs
with different K can be compared on the same items (`--K 7 --score-k 4` against `--K 4`).
"""
import argparse
import numpy as np
import pandas as pd
import torch
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from fame_nb.data import load_dataset
from fame_nb.text import encode_texts
from fame_nb.supcon import pretrain_supcon

def scores(Z_tr, y_tr, Z_te, y_te, k):
    "k-NN accuracy and silhouette of held-out items in space Z."
    Z_tr, Z_te = Z_tr / np.linalg.norm(Z_tr, axis=1, keepdims=True), Z_te / np.linalg.norm(Z_te, axis=1, keepdims=True)
    acc = KNeighborsClassifier(k, metric='cosine').fit(Z_tr, y_tr).score(Z_te, y_te)
    vc = pd.Series(y_te).value_counts(); keep = np.isin(y_te, vc[vc >= 2].index)
    sil = silhouette_score(Z_te[keep], y_te[keep], metric='cosine') if len(np.unique(y_te[keep])) > 1 else float('nan')
    return acc, sil

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='ml-100k'); p.add_argument('--facets', default='genre,director,cast')
    p.add_argument('--P', type=int, default=4); p.add_argument('--K', type=int, default=4)
    p.add_argument('--tau', type=float, default=0.07); p.add_argument('--epochs', type=int, default=300)
    p.add_argument('--dim', type=int, default=96, help='projector output (dim / n_facets per facet)')
    p.add_argument('--encoder', default='minilm'); p.add_argument('--knn', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--score-k', type=int, default=None, help='score classes with >= this many training items (default: --K)')
    p.add_argument('--csv', default=None, help='also add the rows (with dataset, K, seed) to this CSV file')
    a = p.parse_args()
    torch.manual_seed(a.seed)
    data = load_dataset(a.dataset)
    facets = a.facets.split(',')
    X = encode_texts(data.items['text'].fillna('').tolist(), a.encoder, progress=False)
    rng = np.random.default_rng(a.seed)
    tr = rng.random(len(X)) < 0.7
    codes = [data.facet_codes(f)[1:] for f in facets]
    train_labels = [np.where(tr, c, -1)[tr] for c in codes]
    proj, _ = pretrain_supcon(X[tr], train_labels, facets, out_dim=a.dim, P=a.P, K=a.K, tau=a.tau, epochs=a.epochs, seed=a.seed, progress=False)
    with torch.no_grad(): Z = proj(torch.as_tensor(X)).numpy()          # [n, H, dim/H]
    rows = []
    for h, (f, c) in enumerate(zip(facets, codes)):
        counts = pd.Series(c[tr & (c >= 0)]).value_counts()
        ok = np.isin(c, counts[counts >= (a.score_k or a.K)].index)
        itr, ite = tr & ok, ~tr & ok
        for name, S in [('raw text', X)] + [(f'{g} subspace', Z[:, j]) for j, g in enumerate(facets)]:
            acc, sil = scores(S[itr], c[itr], S[ite], c[ite], a.knn)
            rows.append({'facet': f, 'space': name, 'classes': int((counts >= (a.score_k or a.K)).sum()), 'held-out items': int(ite.sum()),
                         'kNN acc': acc, 'silhouette': sil})
    df = pd.DataFrame(rows)
    print(f"{data.name}: {len(X)} items, encoder {a.encoder}, SupCon P={a.P} K={a.K} tau={a.tau} epochs={a.epochs}, kNN k={a.knn}, "
          f"scored: classes with >= {a.score_k or a.K} training items")
    print(df.to_string(index=False, float_format=lambda v: f'{v:.3f}'))
    if a.csv:
        from pathlib import Path
        from fame_nb.core import write_csv
        df = df.assign(dataset=data.name, K=a.K, score_k=a.score_k or a.K, tau=a.tau, epochs=a.epochs, seed=a.seed)
        old = pd.read_csv(a.csv) if Path(a.csv).is_file() else None
        write_csv(a.csv, df if old is None else pd.concat([old, df], ignore_index=True))

if __name__ == '__main__': main()
