"""The model card: one self-contained HTML page that says what a model is, what it was trained
on, how it was trained, how well it does and with which software, plus ``reproduce.py``.

``cnn-studio report MODEL --out DIR`` and the app's "Write model report…" call
:func:`write_report`, which writes ``model_card.html`` and ``reproduce.py`` (see
:mod:`core.share.script`) into DIR, each atomically. The page needs nothing else: its style
sheet is inline, its charts are inline SVG drawn by :mod:`core.share.charts`, and it has no
script, no link to the network and no external file (its Content-Security-Policy forbids them
too). Every text that comes from the model file (class names, file paths, notes) is escaped.

Everything comes from the model's metadata, so a card can be written for any ``.cnnmodel``
file without TensorFlow; what the file does not record is labelled "not recorded". Versions
of Python, the system and the CPU are those of the computer writing the report unless the
file recorded its own, and each is labelled with where it comes from. Needs only the standard
library (and NumPy, through :mod:`core.modelfile.bundle`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import math
import platform
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from core import __version__
from core.assets import MOBILENET_V2_WEIGHTS, asset_path
from core.atomic import atomic_path
from core.errors import CnnStudioError, SaveError
from core.modelfile.bundle import ModelBundle
from core.nets.presets import PRESETS, PRETRAINED_PRESET, TITLES
from core.plain import unseen_in_words
from core.share.charts import (
    MAX_DRAWN_CLASSES,
    confusion_svg,
    largest_confusions,
    line_chart,
    reliability_svg,
)
from core.share.script import class_of, clean, is_split_layout, recorded_runs, render_script

CARD_NAME = "model_card.html"
SCRIPT_NAME = "reproduce.py"
#: Rows of a file list shown in the card (the model file holds them all).
MAX_LISTED_FILES = 100_000
#: Entries of other lists (files found at report time, mistakes) shown in the card.
MAX_LISTED = 200
#: Versions the card shows, in order: (key in a model file's ``versions``, label).
VERSION_ROWS = (
    ("python", "Python"),
    ("os", "Operating system"),
    ("cpu", "CPU"),
    ("tensorflow", "TensorFlow"),
    ("keras", "Keras"),
    ("numpy", "NumPy"),
    ("pillow", "Pillow"),
    ("cnn-studio", "CNN Studio"),
)
#: Distribution and module names of the libraries, to read their versions at report time.
_LIBRARIES = {
    "tensorflow": ("tensorflow", "tensorflow"),
    "keras": ("keras", "keras"),
    "numpy": ("numpy", "numpy"),
    "pillow": ("pillow", "PIL"),
}


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    folder: Path
    card: Path
    script: Path


def _e(text: object) -> str:
    """Escaped for HTML text and attribute values."""
    return escape(clean(text), quote=True)


# --- the computer --------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name as the system reports it (its architecture when it says none)."""
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("model name", "hardware", "cpu model") and value.strip():
                return value.strip()
    if sys.platform == "darwin":
        try:
            done = subprocess.run(
                ["/usr/sbin/sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            if done.stdout.strip():
                return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def platform_versions() -> dict[str, str]:
    """Python, the operating system and the CPU of this computer (for a model file's
    ``versions`` too, so a card can say what the model was trained with)."""
    return {
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": f"{cpu_model()} ({platform.machine()})",
    }


def library_version(key: str) -> str | None:
    """The installed version of one of the libraries (None when it cannot be told), read
    without importing TensorFlow."""
    if key == "cnn-studio":
        return __version__
    distribution, module = _LIBRARIES[key]
    loaded = sys.modules.get(module)
    if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
        return loaded.__version__
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def report_time_versions() -> dict[str, str]:
    """Every :data:`VERSION_ROWS` entry as this computer has it now."""
    found = platform_versions()
    for key, _ in VERSION_ROWS:
        if key not in found:
            found[key] = library_version(key) or "not found"
    return found


# --- what the model file says --------------------------------------------------------------


def _part_lists(bundle: ModelBundle) -> dict[str, list[tuple[str, str]]]:
    files = bundle.files
    return {
        part: [(str(p), str(h)) for p, h in files.get(part) or []]
        for part in ("train", "val", "test")
    }


def class_counts(bundle: ModelBundle) -> dict[str, list[int]] | None:
    """Images per class in each recorded part: {"train": [...], "val": [...], "test": [...]},
    or None when the model file lists no images."""
    parts = _part_lists(bundle)
    if not any(parts.values()):
        return None
    names = list(bundle.class_names)
    split = is_split_layout([p for entries in parts.values() for p, _ in entries], names)
    classes = {name: k for k, name in enumerate(names)}
    counts: dict[str, list[int]] = {}
    for part, entries in parts.items():
        row = [0] * len(names)
        for relpath, _ in entries:
            label = class_of(relpath, classes, split)
            if label is not None:  # a crafted file's stray path is not counted
                row[label] += 1
        counts[part] = row
    return counts


def dataset_fingerprint(bundle: ModelBundle) -> str | None:
    """SHA-256 of the recorded image lists (``hash  path`` lines, training then validation then
    test): one value that changes if any image, its class folder or its part changes."""
    parts = _part_lists(bundle)
    if not any(parts.values()):
        return None
    digest = hashlib.sha256()
    for part, entries in parts.items():
        for relpath, image_hash in entries:
            digest.update(f"{part}\t{image_hash}\t{relpath}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def folder_now(bundle: ModelBundle) -> dict[str, Any] | None:
    """What the dataset folder holds now, compared with the model file's lists: the entries a
    scan leaves out (with reasons), files the model does not list (they could not be decoded
    when it was trained, or came later) and listed files that are gone. None when the folder
    is not there (or the file records none)."""
    from core.data.scan import scan_folder

    root = bundle.files.get("root")
    if not root or not Path(root).is_dir():
        return None
    try:
        index = scan_folder(root)
    except CnnStudioError:
        return None
    listed = {p for entries in _part_lists(bundle).values() for p, _ in entries}
    present = {f.relpath for c in index.classes for f in c.files}
    return {
        "skipped": [(s.path, s.reason) for s in index.skipped],
        "unlisted": sorted(present - listed) if listed else [],
        "missing": sorted(listed - present),
    }


def calibration_of(bundle: ModelBundle) -> dict[str, Any]:
    """The model's calibration record (temperature, calibration error before and after, bins),
    found wherever this version of the file keeps it; {} when it has none."""
    for source in (
        getattr(bundle, "calibration", None),
        bundle.metrics.get("calibration"),
        bundle.training.get("calibration"),
    ):
        if isinstance(source, dict) and source:
            return source
    return {}


# --- the page ------------------------------------------------------------------------------

STYLE = """
:root { color-scheme: light dark; --fg: #1d2430; --muted: #5b6472; --bg: #ffffff;
  --panel: #f4f6f9; --line: #d5dae1; --s0: #2f6fdf; --s1: #e0701b; --s2: #2a9d5c;
  --s3: #9b4dca; --hit: #2f6fdf; --miss: #d8452b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --muted: #a3acb9;
  --bg: #16191e; --panel: #1f242b; --line: #3a414b; --s0: #6ea1ff; --s1: #ff9a4d;
  --s2: #56c98a; --s3: #c08cf0; --hit: #6ea1ff; --miss: #ff7a5c; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; padding: 24px 32px 64px; max-width: 1100px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 36px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 16px; }
.muted, .note { color: var(--muted); } .note { font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 12px; }
th, td { padding: 4px 12px 4px 0; text-align: left; vertical-align: top;
  border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 13px/1.45 ui-monospace, "SF Mono", Consolas, monospace; }
pre { background: var(--panel); padding: 10px 12px; overflow-x: auto; white-space: pre; }
details { margin: 8px 0; } summary { cursor: pointer; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.big { display: flex; gap: 28px; flex-wrap: wrap; margin: 16px 0; }
.big div { background: var(--panel); padding: 10px 16px; border-radius: 6px; }
.big b { display: block; font-size: 22px; }
svg text { fill: var(--fg); font: 12px system-ui, sans-serif; }
svg text.title { font-weight: 600; font-size: 13px; } svg text.note { fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .frame { fill: none; stroke: var(--muted); stroke-width: 1; }
svg .run { stroke: var(--muted); stroke-dasharray: 4 3; }
svg .line { fill: none; stroke-width: 2; } svg .key, svg .dot { stroke: none; }
svg .line.s0 { stroke: var(--s0); } svg .s0.dot, svg .s0.key { fill: var(--s0); }
svg .line.s1 { stroke: var(--s1); } svg .s1.dot, svg .s1.key { fill: var(--s1); }
svg .line.s2 { stroke: var(--s2); } svg .s2.dot, svg .s2.key { fill: var(--s2); }
svg .line.s3 { stroke: var(--s3); } svg .s3.dot, svg .s3.key { fill: var(--s3); }
svg .cell.hit { fill: var(--hit); } svg .cell.miss { fill: var(--miss); }
svg .cell { stroke: var(--line); stroke-width: 0.5; }
svg text.count { font-size: 11px; } svg text.count.strong { fill: #ffffff; }
svg .bar { fill: var(--s0); fill-opacity: 0.75; }
svg .ideal { stroke: var(--muted); stroke-dasharray: 5 4; }
"""
#: No script, no network, no file: the page may use only its own inline style.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _table(
    header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()
) -> str:
    cells = "".join(
        f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        body.append(
            "<tr>"
            + "".join(
                f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                for i, v in enumerate(row)
            )
            + "</tr>"
        )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _pairs(rows: Iterable[tuple[str, object]]) -> str:
    """A two-column table of (label, value) rows."""
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _percent(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.2%}"
    return "not recorded"


def _score(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3f}"
    return "–"


def _section_header(bundle: ModelBundle, name: str) -> str:
    metrics = bundle.metrics
    val = sum(s.get("support", 0) for s in (metrics.get("per_class") or {}).values())
    test = metrics.get("test") or {}
    params = sum(math.prod(w.shape) for w in bundle.weights)
    tiles = [
        ("Validation accuracy", _percent(metrics.get("accuracy"))),
        ("Validation images", f"{val:,}" if metrics else "not recorded"),
        ("Classes", f"{len(bundle.class_names)}"),
        ("Epochs", f"{len(bundle.training.get('history') or [])}"),
        ("Weights", f"{params:,}"),
    ]
    if test:
        tiles.insert(1, ("Test accuracy", _percent(test.get("accuracy"))))
        unseen = test.get("unseen")
        if isinstance(unseen, dict) and unseen_in_words(unseen) is not None:
            fair = _percent(unseen.get("accuracy")) if unseen.get("accuracy") is not None else "–"
            tiles.insert(2, ("Test images it never saw", fair))
    big = "".join(f"<div>{_e(label)}<b>{_e(value)}</b></div>" for label, value in tiles)
    title = TITLES.get(bundle.preset, bundle.preset)
    saved = f"saved {bundle.created}" if bundle.created else "not saved yet"
    return (
        f"<h1>Model card: {_e(name)}</h1>"
        f'<p class="muted">{_e(title)} ({_e(bundle.preset)}), made with CNN Studio '
        f"{_e(bundle.app_version)}, {_e(saved)}. "
        f"Card written {_e(datetime.now(timezone.utc).isoformat(timespec='seconds'))} by "
        f'CNN Studio {_e(__version__)}.</p><div class="big">{big}</div>'
    )


def _section_model(bundle: ModelBundle) -> str:
    spec = bundle.input
    rows = [
        ("Architecture", f"{bundle.preset}: {PRESETS.get(bundle.preset, '')}"),
        (
            "Input",
            f"{spec.size} x {spec.size} pixels, {'colour (RGB)' if spec.color else 'grey'}, "
            + ("centre square of each image" if spec.crop else "whole image squeezed to a square"),
        ),
        (
            "Preprocessing",
            f"{spec.resize_words}; EXIF rotation applied; transparency on white; "
            "pixels 0..255, scaled inside the network",
        ),
        (
            "Augmentation",
            "on (random flip, rotation, zoom, contrast while training)"
            if bundle.augment
            else "off",
        ),
        ("Classes (output order)", ", ".join(bundle.class_names)),
    ]
    return "<h2>Model</h2>" + _pairs(rows)


def _section_dataset(bundle: ModelBundle, now: dict[str, Any] | None) -> str:
    parts = ["<h2>Dataset</h2>"]
    root = bundle.files.get("root")
    parts.append(_pairs([("Folder", root or "not recorded")]))
    counts = class_counts(bundle)
    names = list(bundle.class_names)
    if counts is None:
        per_class = bundle.metrics.get("per_class") or {}
        rows = [(n, per_class.get(n, {}).get("support", "–")) for n in names]
        parts.append(
            '<p class="note">The model file lists no images; validation images per class '
            "from its scores:</p>" + _table(("class", "validation"), rows, (1,))
        )
    else:
        header = ["class", "training", "validation"]
        if any(counts["test"]):
            header.append("test")
        rows = []
        for k, name in enumerate(names):
            row: list[object] = [name, counts["train"][k], counts["val"][k]]
            if len(header) == 4:
                row.append(counts["test"][k])
            rows.append([*row, sum(counts[p][k] for p in counts)])
        totals: list[object] = ["all", *(sum(counts[p]) for p in ("train", "val"))]
        if len(header) == 4:
            totals.append(sum(counts["test"]))
        rows.append([*totals, sum(sum(c) for c in counts.values())])
        parts.append(_table([*header, "total"], rows, range(1, len(header) + 1)))
    recorded = bundle.files.get("skipped")
    if isinstance(recorded, list) and recorded:
        parts.append("<h3>Files left out when the model was trained</h3>")
        parts.append(_listing(recorded, "file"))
    else:
        parts.append(
            '<p class="note">Files left out when the model was trained (unreadable, not images, '
            "hidden): not recorded in the model file.</p>"
        )
    if now is not None:
        parts.append(_section_folder_now(now))
    elif root:
        parts.append('<p class="note">The folder is not on this computer now.</p>')
    return "".join(parts)


def _listing(entries: Sequence[Any], what: str) -> str:
    """A <details> list of (path, reason) pairs or paths, at most :data:`MAX_LISTED` shown."""
    rows = []
    for entry in entries[:MAX_LISTED]:
        if isinstance(entry, list | tuple) and len(entry) == 2:
            rows.append(f"<li><code>{_e(entry[0])}</code>: {_e(entry[1])}</li>")
        elif isinstance(entry, dict):
            rows.append(
                f"<li><code>{_e(entry.get('path', ''))}</code>: {_e(entry.get('reason', ''))}</li>"
            )
        else:
            rows.append(f"<li><code>{_e(entry)}</code></li>")
    more = len(entries) - MAX_LISTED
    tail = f"<li>… and {more:,} more</li>" if more > 0 else ""
    return (
        f"<details><summary>{len(entries):,} {_e(what)}(s)</summary><ul>{''.join(rows)}{tail}"
        "</ul></details>"
    )


def _section_folder_now(now: dict[str, Any]) -> str:
    parts = ["<h3>The folder now (when this card was written)</h3>"]
    if not any(now.values()):
        parts.append('<p class="note">It holds exactly the images the model file lists.</p>')
        return "".join(parts)
    if now["skipped"]:
        parts.append("<p>Left out by the scan, with the reason:</p>")
        parts.append(_listing(now["skipped"], "entry"))
    if now["unlisted"]:
        parts.append(
            "<p>Files in class folders that the model file does not list (they could not be "
            "decoded as images when it was trained, or were added since):</p>"
        )
        parts.append(_listing(now["unlisted"], "file"))
    if now["missing"]:
        parts.append("<p>Listed in the model file but no longer in the folder:</p>")
        parts.append(_listing(now["missing"], "file"))
    return "".join(parts)


def _section_settings(bundle: ModelBundle) -> str:
    runs = recorded_runs(bundle)
    labels = [
        ("epochs", "Epochs (planned)"),
        ("epochs_done", "Epochs trained"),
        ("outcome", "How it ended"),
        ("batch_size", "Batch size"),
        ("learning_rate", "Learning rate (peak)"),
        ("optimizer", "Optimizer"),
        ("label_smoothing", "Label smoothing"),
        ("val_split", "Validation share"),
        ("seed", "Random seed"),
        ("early_stopping", "Early stopping"),
        ("patience", "Patience (epochs)"),
        ("fine_tune", "Fine-tune the pretrained backbone"),
        ("precision", "Precision"),
    ]
    config = bundle.training.get("config") or {}
    header = ["setting", *(f"run {k}" for k in range(1, len(runs) + 1))]
    rows = []
    for key, label in labels:
        if key == "fine_tune" and bundle.preset != PRETRAINED_PRESET:
            continue
        rows.append([label, *(_setting(run.get(key)) for run in runs)])
    recorded = bundle.training.get("runs") or [{"config": config}]
    devices = [str((run.get("config") or {}).get("devices", "not recorded")) for run in recorded]
    rows.append(["Devices", *devices])
    note = (
        "Learning rate: a linear warm-up over the first tenth of the steps to the peak, then "
        "cosine decay to zero. Early stopping watches the validation loss (waiting at least ten "
        "steps and not during the warm-up) and keeps the best weights."
    )
    if len(runs) > 1:
        note += " The model was trained in several runs (continued training), in this order."
    return "<h2>Training settings</h2>" + _table(header, rows) + f'<p class="note">{_e(note)}</p>'


def _setting(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "the preset's own"
    return str(value)


def _run_boundaries(bundle: ModelBundle) -> list[int]:
    runs = bundle.training.get("runs") or []
    ends, total = [], 0
    for run in runs[:-1]:
        total += int(run.get("epochs", 0))
        ends.append(total)
    return ends


def _section_curves(bundle: ModelBundle) -> str:
    history = bundle.training.get("history") or []

    def series(key: str) -> list[float | None]:
        return [epoch.get(key) for epoch in history]

    boundaries = _run_boundaries(bundle)
    loss = line_chart(
        "Loss",
        [("training", series("loss")), ("validation", series("val_loss"))],
        "loss",
        boundaries,
    )
    accuracy = line_chart(
        "Accuracy",
        [("training", series("accuracy")), ("validation", series("val_accuracy"))],
        "accuracy",
        boundaries,
        percent=True,
    )
    note = (
        "Training figures are averaged over each epoch while the weights change (with "
        "augmentation, label smoothing and dropout on); validation figures are measured at the "
        "end of each epoch."
    )
    return (
        f'<h2>Training curves</h2><div class="figures">{loss}{accuracy}</div>'
        f'<p class="note">{_e(note)}</p>'
    )


def _scores_block(metrics: dict[str, Any], names: list[str], what: str) -> str:
    if not metrics or "per_class" not in metrics:
        return f'<p class="note">No {_e(what)} scores are recorded in the model file.</p>'
    accuracy = f"<b>{_percent(metrics.get('accuracy'))}</b>"
    unseen = metrics.get("unseen")
    fair = unseen_in_words(unseen, digits=2) if isinstance(unseen, dict) else None
    if fair is None:
        parts = [f"<p>Accuracy on the {_e(what)} images: {accuracy}</p>"]
    else:  # a given folder held copies of training images: the fair figure beside the whole
        total = sum(int(s.get("support", 0)) for s in (metrics.get("per_class") or {}).values())
        parts = [f"<p>Accuracy on the {_e(what)} images: {accuracy} on {total:,}; {_e(fair)}.</p>"]
    matrix = metrics.get("confusion_matrix") or []
    if matrix and len(names) <= MAX_DRAWN_CLASSES:
        parts.append(f'<div class="figures">{confusion_svg(names, matrix)}</div>')
        parts.append(
            '<p class="note">Rows are the real classes, columns what the model answered; a '
            "cell's shade is its share of the row (hover for the count).</p>"
        )
    elif matrix:
        rows = largest_confusions(names, matrix)
        parts.append("<p>The most frequent mistakes:</p>")
        parts.append(_table(("real class", "answered", "images"), rows, (2,)))
    per_class = metrics["per_class"]
    rows = [
        (
            name,
            _score(s.get("precision")),
            _score(s.get("recall")),
            _score(s.get("f1")),
            s.get("support", "–"),
        )
        for name, s in ((n, per_class.get(n) or {}) for n in names)
    ]
    parts.append(_table(("class", "precision", "recall", "F1", "images"), rows, (1, 2, 3, 4)))
    return "".join(parts)


def _section_results(bundle: ModelBundle) -> str:
    names = [clean(n) for n in bundle.class_names]
    metrics = {k: v for k, v in bundle.metrics.items() if k != "test"}
    parts = [
        "<h2>Results on the validation images</h2>",
        _scores_block(metrics, names, "validation"),
    ]
    parts.append(
        '<p class="note">Precision: of the images the model called this class, the share that '
        "were. Recall: of this class's images, the share it found. F1 combines the two.</p>"
    )
    test = bundle.metrics.get("test")
    if test:
        parts += ["<h2>Results on the test images</h2>", _scores_block(test, names, "test")]
    mistakes = bundle.metrics.get("misclassified") or []
    if mistakes:
        rows = [
            (
                m.get("path", ""),
                m.get("true", ""),
                m.get("predicted", ""),
                _percent(m.get("probability")),
            )
            for m in mistakes[:MAX_LISTED]
        ]
        parts.append(
            f"<details><summary>The most confident mistakes ({len(rows)})</summary>"
            + _table(("file", "real class", "answered", "confidence"), rows, (3,))
            + "</details>"
        )
    return "".join(parts)


def _section_calibration(bundle: ModelBundle) -> str:
    calibration = calibration_of(bundle)
    parts = ["<h2>Calibration</h2>"]
    error = bundle.metrics.get("calibration_error")
    if not calibration and error is None:
        parts.append(
            '<p class="note">Not recorded: the model file holds no calibration (made before '
            "CNN Studio calibrated its models' confidence).</p>"
        )
        return "".join(parts)
    temperature = calibration.get("temperature")
    rows: list[tuple[str, object]] = [
        (
            "Temperature",
            f"{temperature:.4g}" if isinstance(temperature, int | float) else "not recorded",
        ),
        ("Calibration error (ECE) before", _percent(calibration.get("ece_before"))),
        ("Calibration error (ECE) after", _percent(calibration.get("ece_after"))),
    ]
    if calibration.get("images"):
        rows.append(("Fitted on", f"{calibration['images']:,} validation images"))
    if error is not None:
        rows.append(("Calibration error on the validation images", _percent(error)))
    if calibration.get("note"):
        rows.append(("Note", calibration["note"]))
    parts.append(_pairs(rows))
    parts.append(
        '<p class="note">After training, the network\'s scores (logits) are divided by a '
        "temperature fitted on the validation images, so that a confidence of 80 % is right about "
        "80 % of the time. The expected calibration error is the average gap between confidence "
        "and accuracy; it never changes which class is answered.</p>"
    )
    bins = calibration.get("bins")
    if isinstance(bins, list) and bins:
        parts.append(f'<div class="figures">{reliability_svg(bins)}</div>')
    return "".join(parts)


def _section_versions(bundle: ModelBundle) -> str:
    recorded = bundle.versions
    now = report_time_versions()
    rows = []
    for key, label in VERSION_ROWS:
        if recorded.get(key):
            rows.append((label, recorded[key], "model file (when it was saved)", now.get(key, "")))
        else:
            rows.append((label, now.get(key, "not found"), "this computer, now", now.get(key, "")))
    table = _table(("software", "version", "from", "this computer now"), rows)
    return (
        "<h2>Versions</h2>" + table + '<p class="note">Where the model file does not record a '
        "version, the one of the computer writing this card is shown and labelled so.</p>"
    )


def _hash_list(entries: list[tuple[str, str]], what: str) -> str:
    shown = entries[:MAX_LISTED_FILES]
    lines = "\n".join(f"{_e(h)}  {_e(p)}" for p, h in shown)
    more = len(entries) - len(shown)
    tail = f"\n… and {more:,} more (all are in the model file)" if more > 0 else ""
    return (
        f"<details><summary>{_e(what)}: {len(entries):,} images</summary>"
        f"<pre>{lines}{tail}</pre></details>"
    )


def _section_files(bundle: ModelBundle) -> str:
    parts = ["<h2>Training files</h2>"]
    fingerprint = dataset_fingerprint(bundle)
    if fingerprint is None:
        parts.append('<p class="note">Not recorded: the model file lists no images.</p>')
        return "".join(parts)
    what = bundle.files.get("hash") or "not recorded"
    parts.append(
        _pairs(
            [
                ("Each image's hash", what),
                ("Fingerprint of the lists (SHA-256)", fingerprint),
            ]
        )
    )
    parts.append(
        '<p class="note">An image\'s hash is taken over the pixels the model saw (decoded and '
        "resized), so a re-encoded copy has the same hash and a changed image a different one. "
        "The fingerprint covers every line below.</p>"
    )
    lists = _part_lists(bundle)
    for part, words in (("train", "Training"), ("val", "Validation"), ("test", "Test")):
        if lists[part]:
            parts.append(_hash_list(lists[part], words))
    return "".join(parts)


def _section_reproduce(bundle: ModelBundle, weights: str | None) -> str:
    text = (
        f"<h2>Reproducing it</h2><p><code>{SCRIPT_NAME}</code>, beside this card, trains the same "
        "network again with plain Keras (no CNN Studio code): the same images, training and "
        "validation split, layers, optimizer, learning-rate schedule, label smoothing, "
        "augmentation, early stopping and seed. It prints its validation accuracy beside the "
        "app's. Run:</p><pre>python reproduce.py [--data FOLDER]</pre>"
        '<p class="note">It needs Python with Keras 3 (TensorFlow), NumPy and Pillow. On the '
        "same computer and libraries it repeats the app's run step by step and ends with the "
        "app's weights; elsewhere the arithmetic rounds differently and the result differs a "
        "little.</p>"
    )
    if bundle.preset == PRETRAINED_PRESET:
        where = weights or "not found on this computer"
        text += (
            f'<p class="note">The pretrained backbone\'s ImageNet weights are read from '
            f"<code>{_e(where)}</code> (CNN Studio's own copy); pass <code>--weights FILE</code> "
            "where it is elsewhere.</p>"
        )
    return text


def render_card(bundle: ModelBundle, name: str, scan_folder: bool = True) -> str:
    """The model card of ``bundle`` (called ``name``) as one HTML document."""
    now = folder_now(bundle) if scan_folder else None
    weights = asset_path(MOBILENET_V2_WEIGHTS)
    body = "".join(
        [
            _section_header(bundle, name),
            _section_model(bundle),
            _section_dataset(bundle, now),
            _section_settings(bundle),
            _section_curves(bundle),
            _section_results(bundle),
            _section_calibration(bundle),
            _section_versions(bundle),
            _section_files(bundle),
            _section_reproduce(bundle, str(weights) if weights else None),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Model card: {_e(name)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def write_report(
    bundle: ModelBundle,
    folder: Path | str,
    model_path: Path | str | None = None,
    scan_folder: bool = True,
) -> ReportFiles:
    """Write ``model_card.html`` and ``reproduce.py`` for ``bundle`` into ``folder`` (created
    if needed; each file written atomically, other files left alone).

    ``model_path`` names the model in both (None: an unsaved model). ``scan_folder`` compares
    the dataset folder as it is now with the model's lists. Raises :class:`SaveError` naming
    the folder when it cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SaveError(f"{folder}: is a file, not a folder; give a folder for the report")
    name = Path(model_path).name if model_path else "unsaved model"
    weights = asset_path(MOBILENET_V2_WEIGHTS) if bundle.preset == PRETRAINED_PRESET else None
    card_text = render_card(bundle, name, scan_folder)
    script_text = render_script(bundle, name, str(weights) if weights else None)
    card, script = folder / CARD_NAME, folder / SCRIPT_NAME
    for target, text in ((card, card_text), (script, script_text)):
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
    return ReportFiles(folder, card, script)
