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

#: The answer when the top probability is below the confidence asked for ("don't know").
UNSURE = "unsure"


@dataclass(frozen=True)
class Prediction:
    """One classified image: its ranked ``(label, probability)`` pairs, best first."""

    path: str
    labels: list[tuple[str, float]]

    @property
    def top(self) -> tuple[str, float]:
        return self.labels[0]

    def answer(self, min_confidence: float = 0.0) -> str:
        """The top label, or :data:`UNSURE` when its probability is below ``min_confidence``
        (0..1; 0 always answers)."""
        label, probability = self.top
        return UNSURE if probability < min_confidence else label

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


def write_csv(
    predictions: Sequence[Prediction],
    path: Path | str,
    top_k: int = 3,
    min_confidence: float = 0.0,
) -> Path:
    """Write path, top label, probability and the top-k ranking to a CSV file (atomically).

    With a ``min_confidence`` (0..1) the file gains an ``answer`` column: the top label, or
    ``unsure`` when its probability is below it (see :meth:`Prediction.answer`); without one
    the columns stay those of earlier versions. Names and paths are written for people and
    spreadsheets (:func:`spreadsheet_text`).
    """
    path = Path(path)
    answers = min_confidence > 0
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "probability", "top_k", *(["answer"] if answers else [])])
        for p in predictions:
            ranking = "; ".join(f"{n}={v:.4f}" for n, v in p.labels[:top_k])
            row = [
                spreadsheet_text(p.path),
                spreadsheet_text(p.top[0]),
                f"{p.top[1]:.6f}",
                spreadsheet_text(ranking),
            ]
            if answers:
                row.append(spreadsheet_text(p.answer(min_confidence)))
            writer.writerow(row)
    return path
