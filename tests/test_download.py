"Download path of `fame_nb.data`: a zip served on 127.0.0.1, checksum verified, unpacked atomically."
import hashlib, http.server, io, os, threading, zipfile
from functools import partial
from pathlib import Path
import pytest
from fame_nb import data as D

SHARED = Path(os.environ.get('FAME_NB_DATA', Path(__file__).parents[1] / '..' / 'shared' / 'data'))

@pytest.fixture
def server(tmp_path):
    "Serve `tmp_path/www` on 127.0.0.1 on a free port."
    www = tmp_path / 'www'; www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield www, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()

def _ml100k_zip() -> bytes:
    "A zip laid out like GroupLens' ml-100k.zip, holding the real u.data and u.item."
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        for f in ('u.data', 'u.item'): z.write(SHARED / 'ml-100k' / f, f'ml-100k/{f}')
    return buf.getvalue()

def _listing(p): return sorted(str(x.relative_to(p)) for x in p.rglob('*'))

def test_download_verified_and_loaded(server, tmp_path, monkeypatch):
    www, base = server
    blob = _ml100k_zip(); (www / 'ml-100k.zip').write_bytes(blob)
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'url', f'{base}/ml-100k.zip')
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'md5', hashlib.md5(blob).hexdigest())
    root = tmp_path / 'data'; root.mkdir()
    d = D.load_dataset('ml-100k', data_dir=root)
    assert (d.n_users, d.n_items) == (943, 1349)
    assert _listing(root) == ['ml-100k', 'ml-100k/u.data', 'ml-100k/u.item']   # no temp files left
    # a second load finds the files and does not download again
    (www / 'ml-100k.zip').unlink()
    assert D.load_dataset('ml-100k', data_dir=root).n_interactions == d.n_interactions

def test_corrupted_download_rejected(server, tmp_path, monkeypatch):
    www, base = server
    blob = bytearray(_ml100k_zip()); blob[len(blob) // 2] ^= 0xFF
    (www / 'ml-100k.zip').write_bytes(bytes(blob))
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'url', f'{base}/ml-100k.zip')   # published MD5 kept
    root = tmp_path / 'data'; root.mkdir()
    with pytest.raises(D.DataError, match='checksum mismatch'): D.load_dataset('ml-100k', data_dir=root)
    assert _listing(root) == []                                           # nothing half-written

def test_truncated_download_rejected(server, tmp_path, monkeypatch):
    www, base = server
    blob = _ml100k_zip()
    (www / 'ml-100k.zip').write_bytes(blob[: len(blob) // 3])
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'url', f'{base}/ml-100k.zip')
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'md5', None)               # no checksum: the zip itself must be checked
    root = tmp_path / 'data'; root.mkdir()
    with pytest.raises(D.DataError, match='not a valid zip'): D.load_dataset('ml-100k', data_dir=root)
    assert _listing(root) == []

def test_offline_error_names_path_and_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(D.DATASETS['ml-100k'], 'url', 'http://127.0.0.1:9/ml-100k.zip')   # nothing listens on port 9
    root = tmp_path / 'data'; root.mkdir()
    with pytest.raises(D.DataError) as e: D.load_dataset('ml-100k', data_dir=root)
    msg = str(e.value)
    assert str(root / 'ml-100k') in msg and 'FAME_NB_DATA' in msg and 'download' in msg and '\n' not in msg
    assert _listing(root) == []

def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv('FAME_NB_DATA', str(tmp_path / 'env'))
    assert D.default_data_dir() == tmp_path / 'env'
    assert D.default_data_dir(tmp_path / 'explicit') == tmp_path / 'explicit'
    monkeypatch.delenv('FAME_NB_DATA')
    assert 'fame_nb' in str(D.default_data_dir())
