"""Classification results as plain data, and writing them to CSV (no TensorFlow needed)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.atomic import atomic_path
from core.errors import SaveError
from core.names import readable


@dataclass(frozen=True)
class Prediction:
    """One classified image: its ranked ``(label, probability)`` pairs, best first."""

    path: str
    labels: list[tuple[str, float]]

    @property
    def top(self) -> tuple[str, float]:
        return self.labels[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "predictions": [{"label": n, "probability": p} for n, p in self.labels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """The inverse of :meth:`to_dict`."""
        ranked = [(str(p["label"]), float(p["probability"])) for p in data["predictions"]]
        return cls(str(data["path"]), ranked)


#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: readable (see :mod:`core.names`) and,
    when it would start a formula (a class named ``=HYPERLINK(...)``), prefixed with ``'``."""
    text = readable(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def check_csv_target(path: Path) -> Path:
    """Refuse to overwrite a file that is not text (a model file or an image given as the CSV
    by mistake would otherwise be replaced by the results)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise SaveError(f"{path}: cannot check the existing file ({exc.strerror or exc})") from exc
    if b"\0" in head:  # text never holds NUL bytes; images and zip files soon do
        raise SaveError(f"{path}: exists and is not a CSV file; refusing to overwrite it")
    return path


def write_csv(predictions: Sequence[Prediction], path: Path | str, top_k: int = 3) -> Path:
    """Write path, top label, probability and the top-k ranking to a CSV file (atomically).

    Names and paths are written for people and spreadsheets (:func:`spreadsheet_text`).
    """
    path = Path(path)
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "probability", "top_k"])
        for p in predictions:
            ranking = "; ".join(f"{n}={v:.4f}" for n, v in p.labels[:top_k])
            writer.writerow(
                [
                    spreadsheet_text(p.path),
                    spreadsheet_text(p.top[0]),
                    f"{p.top[1]:.6f}",
                    spreadsheet_text(ranking),
                ]
            )
    return path
