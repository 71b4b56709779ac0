"""Checking an export as its user would: its own ``classify.py``, in a fresh process, on files.

:func:`run_script` starts ``python classify.py FILE...`` inside the export folder with
``sys.executable`` (the frozen app runs the script itself: ``cnn-studio --run-script``, see
:func:`run_script_main`), so the check goes through everything a user's run goes through: the
script, ``preprocessing.json``, ``labels.txt``, the model file and the format's runtime, with
none of CNN Studio's code. :func:`compare` sets its answers beside the app's own for the same
files and gives an :class:`ExportReport`, which :mod:`core.share.export` stores as ``parity.json``.

Needs only the standard library (and :mod:`core.data.scan` to list a folder's images).
"""

from __future__ import annotations

import contextlib
import os
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.data.scan import image_files
from core.errors import CnnStudioError
from core.share.formats import FORMATS

#: At most this many held-out files are checked (spread over the list).
CHECK_LIMIT = 200
#: Share of check files on which a float export must give the app's top-1 label.
FLOAT_AGREEMENT = 0.995
#: Seconds the fresh process may take (importing TensorFlow is most of it).
SCRIPT_TIMEOUT = 300
#: Longest command line the check builds (Windows allows 32,767 characters).
MAX_COMMAND_CHARS = 24_000
#: Environment variable: in the frozen app, where ``--run-script`` writes stdout and stderr.
OUTPUT_VARIABLE = "CNNSTUDIO_SCRIPT_OUTPUT"
#: Disagreements listed in parity.json (all are counted).
LISTED_DISAGREEMENTS = 20


@dataclass(frozen=True)
class CheckSet:
    """The held-out images an export is checked on.

    ``paths`` are image files with ``labels`` (class index, or None where unknown);
    ``images`` (uint8 model inputs) stand in when no files are reachable: they are written
    to temporary PNG files for the check. ``source`` says in words where they came from.
    """

    paths: tuple[Path, ...]
    labels: tuple[int | None, ...]
    source: str
    images: np.ndarray | None = None


def spread(count: int, limit: int = CHECK_LIMIT) -> list[int]:
    """Up to ``limit`` indices spread evenly over ``range(count)`` (all when fewer), in order:
    lists grouped by class keep every class in the sample."""
    if count <= limit:
        return list(range(count))
    return sorted({int(i) for i in np.linspace(0, count - 1, limit).round()})


def label_of(relpath: str, class_names: Sequence[str]) -> int | None:
    """The class of a file from its path below the dataset folder (``cat/x.png``, or
    ``valid/cat/x.png`` in a split dataset); None when no folder names a class."""
    parts = Path(relpath).parts[:-1]
    for part in parts[:2]:
        if part in class_names:
            return list(class_names).index(part)
    return None


def folder_check_set(folder: Path, class_names: Sequence[str]) -> CheckSet:
    """Up to :data:`CHECK_LIMIT` image files of ``folder`` (searched with its subfolders); a
    file in a subfolder named as a class is labelled with it."""
    if not folder.is_dir():
        raise CnnStudioError(f"{folder}: not a folder of images to check the export on")
    files, _ = image_files([folder])
    files = [f for f in files if f.is_file()]
    if not files:
        raise CnnStudioError(f"{folder}: holds no files to check the export on")
    chosen = [files[i] for i in spread(len(files))]
    labels = tuple(label_of(str(p.relative_to(folder)), class_names) for p in chosen)
    return CheckSet(tuple(chosen), labels, f"files of {folder}")


def script_command() -> list[str]:
    """How to run a Python script in a fresh process: this Python, or the frozen app itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--run-script"]
    return [sys.executable]


def _chunks(paths: Sequence[str]) -> list[list[str]]:
    """``paths`` in groups whose command line stays under :data:`MAX_COMMAND_CHARS`."""
    groups: list[list[str]] = [[]]
    length = 0
    for path in paths:
        if groups[-1] and length + len(path) + 3 > MAX_COMMAND_CHARS:
            groups.append([])
            length = 0
        groups[-1].append(path)
        length += len(path) + 3
    return groups


def run_script(folder: Path, paths: Sequence[Path]) -> list[tuple[str, float]]:
    """Run ``folder/classify.py`` on ``paths`` in fresh processes: (label, probability) for
    each file, in order. Raises :class:`CnnStudioError` with the script's own reason."""
    results: list[tuple[str, float]] = []
    for group in _chunks([str(Path(p).resolve()) for p in paths]):
        lines = _run_once(folder, group)
        if len(lines) != len(group):
            raise CnnStudioError(
                f"the export's classify.py printed {len(lines)} lines for {len(group)} images"
            )
        for line in lines:
            try:
                _, label, probability = line.rsplit("\t", 2)
                results.append((label, float(probability)))
            except ValueError:
                raise CnnStudioError(
                    f"the export's classify.py printed an unexpected line: {line[:200]!r}"
                ) from None
    return results


def _run_once(folder: Path, paths: list[str]) -> list[str]:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONIOENCODING": "utf-8"}
    env.setdefault("KERAS_BACKEND", "tensorflow")
    kept = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join(kept)  # CNN Studio's own code is not on the path
    with tempfile.TemporaryDirectory(prefix="cnnstudio-check-") as scratch:
        if getattr(sys, "frozen", False):  # a windowed app may have no stdout: use files
            env[OUTPUT_VARIABLE] = str(Path(scratch, "output"))
        try:
            done = subprocess.run(
                [*script_command(), str(folder / "classify.py"), *paths],
                cwd=folder,
                capture_output=True,
                timeout=SCRIPT_TIMEOUT,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CnnStudioError(f"could not run the export's classify.py ({exc})") from exc
        stdout, stderr = done.stdout, done.stderr
        if OUTPUT_VARIABLE in env:
            with contextlib.suppress(OSError):
                stdout = Path(scratch, "output.out").read_bytes()
                stderr = Path(scratch, "output.err").read_bytes()
    if done.returncode != 0:
        text = stderr.decode("utf-8", "replace").strip().splitlines() or ["no reason given"]
        raise CnnStudioError(
            f"the export's classify.py failed in a fresh process (exit {done.returncode}): "
            f"{text[-1][:300]}"
        )
    return [line for line in stdout.decode("utf-8", "replace").splitlines() if line.strip()]


def run_script_main(argv: Sequence[str]) -> int:
    """``cnn-studio --run-script SCRIPT ARGS...``: run a Python script as ``__main__`` inside
    the frozen app (which has no separate Python), as ``python SCRIPT ARGS...`` would.

    With :data:`OUTPUT_VARIABLE` set, stdout and stderr go to that path + ``.out``/``.err``.
    """
    if not argv:
        print("usage: --run-script SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    script = str(Path(argv[0]).resolve())
    prefix = os.environ.pop(OUTPUT_VARIABLE, "")
    saved = sys.argv, sys.stdout, sys.stderr, list(sys.path)
    with contextlib.ExitStack() as stack:
        if prefix:
            sys.stdout = stack.enter_context(open(prefix + ".out", "w", encoding="utf-8"))
            sys.stderr = stack.enter_context(open(prefix + ".err", "w", encoding="utf-8"))
        sys.argv = [script, *argv[1:]]
        sys.path.insert(0, str(Path(script).parent))
        try:
            runpy.run_path(script, run_name="__main__")
            code: Any = 0
        except SystemExit as exc:
            code = exc.code
        except Exception as exc:  # the caller reports this line to the user
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            code = 1
        finally:
            sys.argv, sys.stdout, sys.stderr, sys.path[:] = saved
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@dataclass
class ExportReport:
    """How an export compared with the app on held-out files (``parity.json``).

    ``agreeing`` of ``checked`` files got the app's top-1 label from the export's own
    ``classify.py``; ``required`` is the share a float export must reach (None for int8,
    which is reported, not held to it). Accuracies are over the files whose class is known.
    """

    folder: str
    format: str
    source: str
    checked: int
    agreeing: int
    required: float | None
    max_probability_difference: float
    labelled: int = 0
    app_accuracy: float | None = None
    export_accuracy: float | None = None
    disagreements: list[dict[str, str]] = field(default_factory=list)
    calibration: str | None = None
    command: str = "python classify.py FILE..."

    @property
    def agreement(self) -> float:
        return self.agreeing / self.checked if self.checked else 0.0

    @property
    def passed(self) -> bool:
        return self.required is None or self.agreement >= self.required

    def summary(self) -> str:
        """One line for people: the agreement, and for int8 the change in accuracy."""
        line = (
            f"classify.py, run in a fresh process on {self.checked} check images "
            f"({self.source}), gave the app's top answer on {self.agreeing} "
            f"({self.agreement:.1%})"
        )
        if self.agreeing == self.checked and self.max_probability_difference < 5e-7:
            line += ", probabilities the same to 6 decimals"
        elif self.agreeing == self.checked:
            line += f", probabilities within {self.max_probability_difference:.6f}"
        if self.app_accuracy is not None and self.export_accuracy is not None:
            change = (self.export_accuracy - self.app_accuracy) * 100
            line += (
                f"; accuracy {self.app_accuracy:.1%} in the app, {self.export_accuracy:.1%} "
                f"exported ({change:+.1f} points, on {self.labelled} labelled images)"
            )
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "agreement": round(self.agreement, 6),
            "passed": self.passed,
            "summary": self.summary(),
        }


def compare(
    folder: Path,
    fmt: str,
    checks: CheckSet,
    app: Sequence[tuple[str, float]],
    exported: Sequence[tuple[str, float]],
    class_names: Sequence[str],
) -> ExportReport:
    """Set the export's (label, probability) answers beside the app's for ``checks``."""
    float_model = FORMATS[fmt].float_model
    agreeing, worst, listed = 0, 0.0, []
    app_right = export_right = labelled = 0
    for path, label, mine, theirs in zip(checks.paths, checks.labels, app, exported, strict=True):
        if mine[0] == theirs[0]:
            agreeing += 1
            worst = max(worst, abs(mine[1] - theirs[1]))
        elif len(listed) < LISTED_DISAGREEMENTS:
            listed.append({"file": str(path), "app": mine[0], "export": theirs[0]})
        if label is not None:
            labelled += 1
            app_right += mine[0] == class_names[label]
            export_right += theirs[0] == class_names[label]
    return ExportReport(
        folder=str(folder),
        format=fmt,
        source=checks.source,
        checked=len(app),
        agreeing=agreeing,
        required=FLOAT_AGREEMENT if float_model else None,
        max_probability_difference=round(worst, 6),
        labelled=labelled,
        app_accuracy=app_right / labelled if labelled else None,
        export_accuracy=export_right / labelled if labelled else None,
        disagreements=listed,
    )
