"""File and class names that are not UTF-8 (Latin-1 names from old USB sticks and zip files):
kept exactly end to end, shown readably; and names a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli.console import out
from core.cli.main import main
from core.names import readable
from core.use.predictions import Prediction, spreadsheet_text, write_csv


def latin1_dataset(parent: Path) -> Path:
    """A dataset whose folder, one class and every file name are Latin-1 bytes."""
    root = os.fsencode(parent) + b"/donn\xe9es"
    rng = np.random.default_rng(0)
    try:
        for cls, bright in ((b"caf\xe9", True), (b"tea", False)):
            Path(os.fsdecode(root + b"/" + cls)).mkdir(parents=True)
            for i in range(12):
                pixels = rng.integers(0, 100, (16, 16), dtype=np.uint8)
                if bright:
                    pixels[:8] = 255
                name = root + b"/" + cls + b"/img" + str(i).encode() + b"\xe0.png"
                Image.fromarray(pixels).save(os.fsdecode(name))
    except (OSError, UnicodeError) as exc:
        pytest.skip(f"this file system refuses non-UTF-8 names ({exc})")
    return Path(os.fsdecode(root))


def test_readable_shows_escaped_bytes_as_the_characters_they_are():
    assert readable("plain é") == "plain é"
    assert readable(os.fsdecode(b"caf\xe9")) == "café"
    assert readable(os.fsdecode(b"\x80 euro")) == "€ euro"
    assert readable("crafted \ud800") == "crafted ?"  # a surrogate that is no escaped byte


def test_non_utf8_names_work_end_to_end(tmp_path, capsys):
    root = latin1_dataset(tmp_path)
    for _ in range(2):  # the second load reads the decoded cache
        assert main(["inspect", str(root), "--image-size", "16"]) == 0
        assert "café  12" in capsys.readouterr().out
    model = tmp_path / "model.cnnmodel"
    code = main(
        ["train", str(root), "--image-size", "16", "--epochs", "1", "--out", str(model), "--json"]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()

    from core.session import Session

    session = Session(use_cache=False)
    opened = session.open(model)
    assert os.fsencode(opened.class_names[0]) == b"caf\xe9"  # stored losslessly
    results = tmp_path / "results.csv"
    assert main(["predict", str(model), str(root), "--csv", str(results)]) == 0
    printed = capsys.readouterr().out
    assert "données/café/img0à.png: " in printed
    rows = list(csv.reader(results.open(encoding="utf-8")))
    assert len(rows) == 25
    assert any(row[0].endswith("données/café/img3à.png") for row in rows)
    assert {row[1] for row in rows[1:]} <= {"café", "tea"}


def test_output_to_a_legacy_encoding_never_crashes(monkeypatch):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr("sys.stdout", stream)
    out(os.fsdecode(b"caf\xe9") + " 猫")
    stream.flush()
    assert stream.buffer.getvalue() == b"caf? ?\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_names_that_start_a_formula_are_written_as_text(tmp_path, start):
    name = f'{start}HYPERLINK("http://x","y")'
    assert spreadsheet_text(name) == "'" + name
    target = write_csv(
        [Prediction(f"{start}cmd.png", [(name, 0.9), ("b", 0.1)])], tmp_path / "p.csv"
    )
    row = list(csv.reader(target.open(encoding="utf-8", newline="")))[1]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)
    assert row[1] == "'" + name
