"bench/gpu_check.sh (the GPU check the README points to) runs end to end on CPU in its --tiny mode, distributed run included."
import os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_gpu_check_tiny_on_cpu():
    env = {**os.environ, 'PYTHON': sys.executable, 'GLOO_SOCKET_IFNAME': 'lo'}
    r = subprocess.run(['bash', str(ROOT / 'bench' / 'gpu_check.sh'), '--device', 'cpu', '--tiny', '--epochs', '1'],
                       capture_output=True, text=True, timeout=600, env=env, cwd='/')
    assert r.returncode == 0, r.stderr[-3000:]
    rows = re.findall(r'^synthetic\s+(sasrec|fame N=4)\s+(fp32|bf16)\s+(\d+)\s+([\d.]+), ([\d.]+)', r.stdout, re.M)
    assert [x[:3] for x in rows] == [('sasrec', 'fp32', '1'), ('sasrec', 'bf16', '1'), ('fame N=4', 'fp32', '1'), ('fame N=4', 'bf16', '1'),
                                     ('sasrec', 'bf16', '2'), ('fame N=4', 'bf16', '2')], r.stdout
    assert all(float(x[3]) > 0 for x in rows)
