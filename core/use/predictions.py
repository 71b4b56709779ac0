"""Classification results as plain data, and writing them to CSV (no TensorFlow needed).

A CSV is written as the results come (:func:`csv_rows`): to a temporary file beside the target,
flushed after every batch, and renamed over the target only when the run ends well, so memory
does not grow with the rows and a crash or a cancel never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

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


#: :func:`write_csv` flushes its rows to the temporary file this often.
FLUSH_ROWS = 256


class CsvRows:
    """The rows of a results CSV, written to ``handle`` (its header at once): path, top label,
    probability, the top-k ranking and, with a ``min_confidence`` (0..1), the answer (the top
    label or ``unsure``, see :meth:`Prediction.answer`; without one the columns stay those of
    earlier versions). Names and paths are written for people and spreadsheets
    (:func:`spreadsheet_text`). ``count`` says how many rows were written."""

    def __init__(self, handle: TextIO, top_k: int = 3, min_confidence: float = 0.0) -> None:
        self._handle = handle
        self._writer = csv.writer(handle)
        self._top_k = top_k
        self._min_confidence = min_confidence
        self.count = 0
        answer = ["answer"] if min_confidence > 0 else []
        self._writer.writerow(["path", "label", "probability", "top_k", *answer])

    def write(self, predictions: Iterable[Prediction]) -> None:
        """Write a row for each of ``predictions`` (a batch) and flush them to the file."""
        for p in predictions:
            ranking = "; ".join(f"{n}={v:.4f}" for n, v in p.labels[: self._top_k])
            row = [
                spreadsheet_text(p.path),
                spreadsheet_text(p.top[0]),
                f"{p.top[1]:.6f}",
                spreadsheet_text(ranking),
            ]
            if self._min_confidence > 0:
                row.append(spreadsheet_text(p.answer(self._min_confidence)))
            self._writer.writerow(row)
            self.count += 1
        self._handle.flush()


@contextlib.contextmanager
def csv_rows(path: Path | str, top_k: int = 3, min_confidence: float = 0.0) -> Iterator[CsvRows]:
    """A :class:`CsvRows` writing to a temporary file beside ``path``, renamed over ``path``
    when the ``with`` block ends without an exception and deleted when it does not (a failure,
    a cancel, Ctrl-C: :func:`core.atomic.atomic_path`), so ``path`` is never half-written."""
    with atomic_path(Path(path)) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        yield CsvRows(handle, top_k, min_confidence)


def write_csv(
    predictions: Iterable[Prediction],
    path: Path | str,
    top_k: int = 3,
    min_confidence: float = 0.0,
) -> Path:
    """Write path, top label, probability and the top-k ranking to a CSV file (atomically),
    as :class:`CsvRows` does; ``predictions`` may be a stream (a generator), written as it
    comes and flushed every :data:`FLUSH_ROWS` rows, never held whole."""
    path = Path(path)
    with csv_rows(path, top_k, min_confidence) as rows:
        batch: list[Prediction] = []
        for prediction in predictions:
            batch.append(prediction)
            if len(batch) >= FLUSH_ROWS:
                rows.write(batch)
                batch.clear()
        rows.write(batch)
    return path
