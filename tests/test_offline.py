"""Offline guarantee: the whole engine works inside a network namespace with no interfaces.

(Every other test runs with sockets disabled by pytest-socket; see test_architecture.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def unshare_works() -> bool:
    tool = shutil.which("unshare")
    if tool is None:
        return False
    return subprocess.run([tool, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not unshare_works(), reason="needs `unshare -n` (root or user namespaces)")
def test_scan_train_save_load_classify_without_any_network(pattern_dir, tmp_path):
    model = tmp_path / "offline.cnnmodel"
    image = sorted((pattern_dir / "vertical").glob("*.png"))[0]
    script = (
        f"set -e\n"
        f"python3 -c 'import socket; s = socket.socket()\n"
        f'try:\n    s.connect(("1.1.1.1", 80)); raise SystemExit("network reachable")\n'
        f"except OSError: pass'\n"
        f"{sys.executable} -m core inspect {pattern_dir} --json > {tmp_path}/inspect.json\n"
        f"{sys.executable} -m core train {pattern_dir} --epochs 2 --image-size 16 "
        f"--batch-size 16 --out {model}\n"
        f"{sys.executable} -m core predict {model} {image} --json > {tmp_path}/predict.json\n"
    )
    result = subprocess.run(
        ["unshare", "-n", "bash", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(json.loads((tmp_path / "inspect.json").read_text())["classes"]) == 3
    prediction = json.loads((tmp_path / "predict.json").read_text())[0]
    assert prediction["path"] == str(image)
    assert len(prediction["predictions"]) == 3
