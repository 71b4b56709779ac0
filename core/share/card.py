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

This module assembles and writes the page, and reads the software versions (this computer's,
also recorded in model files, and the ones the card shows); the page's sections are
:mod:`core.share.card_sections`, its style and building blocks :mod:`core.share.card_html`,
and what it gathers from the model file :mod:`core.share.card_facts`.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core import __version__
from core.assets import asset_path
from core.atomic import atomic_path
from core.errors import SaveError
from core.modelfile.bundle import ModelBundle
from core.nets.presets import BACKBONE_ASSETS
from core.share.card_facts import folder_now
from core.share.card_html import CSP, STYLE, esc, html_table
from core.share.card_sections import (
    section_calibration,
    section_curves,
    section_dataset,
    section_files,
    section_header,
    section_learning_curve,
    section_model,
    section_results,
    section_settings,
)
from core.share.script import render_script

CARD_NAME = "model_card.html"
SCRIPT_NAME = "reproduce.py"
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


# --- the page ------------------------------------------------------------------------------


def _section_versions(bundle: ModelBundle) -> str:
    recorded = bundle.versions
    now = report_time_versions()
    rows = []
    for key, label in VERSION_ROWS:
        if recorded.get(key):
            rows.append((label, recorded[key], "model file (when it was saved)", now.get(key, "")))
        else:
            rows.append((label, now.get(key, "not found"), "this computer, now", now.get(key, "")))
    table = html_table(("software", "version", "from", "this computer now"), rows)
    return (
        "<h2>Versions</h2>" + table + '<p class="note">Where the model file does not record a '
        "version, the one of the computer writing this card is shown and labelled so.</p>"
    )


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
    if bundle.preset in BACKBONE_ASSETS:
        where = weights or "not found on this computer"
        text += (
            f'<p class="note">The pretrained backbone\'s ImageNet weights are read from '
            f"<code>{esc(where)}</code> (CNN Studio's own copy); pass <code>--weights FILE</code> "
            "where it is elsewhere.</p>"
        )
    return text


def backbone_weights(preset: str) -> Path | None:
    """The shipped ImageNet weights of ``preset``'s pretrained backbone, None for a preset
    without one (or an installation that lacks the file)."""
    return asset_path(BACKBONE_ASSETS[preset]) if preset in BACKBONE_ASSETS else None


def render_card(bundle: ModelBundle, name: str, scan_folder: bool = True) -> str:
    """The model card of ``bundle`` (called ``name``) as one HTML document."""
    now = folder_now(bundle) if scan_folder else None
    weights = backbone_weights(bundle.preset)
    body = "".join(
        [
            section_header(bundle, name),
            section_model(bundle),
            section_dataset(bundle, now),
            section_settings(bundle),
            section_curves(bundle),
            section_learning_curve(bundle),
            section_results(bundle),
            section_calibration(bundle),
            _section_versions(bundle),
            section_files(bundle),
            _section_reproduce(bundle, str(weights) if weights else None),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Model card: {esc(name)}</title><style>{STYLE}</style></head>"
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
    weights = backbone_weights(bundle.preset)
    card_text = render_card(bundle, name, scan_folder)
    script_text = render_script(bundle, name, str(weights) if weights else None)
    card, script = folder / CARD_NAME, folder / SCRIPT_NAME
    for target, text in ((card, card_text), (script, script_text)):
        with atomic_path(target) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
    return ReportFiles(folder, card, script)
