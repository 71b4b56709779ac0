"""The model card's sections on the model, its data, its training and its results, as HTML.

Each function takes the :class:`~core.modelfile.bundle.ModelBundle` and gives one section of
the page :func:`core.share.card.render_card` assembles: the header with the figures that
matter, the model and its input, the dataset (images per class and part, files left out, the
folder as it is now), the training settings of every run, the training curves, the scores on
the validation and test images, calibration, and the training files' hashes. Everything comes
from the model's metadata; what it does not record is labelled "not recorded".
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from core import __version__
from core.modelfile.bundle import ModelBundle
from core.nets.presets import PRESETS, TITLES, is_pretrained
from core.plain import (
    learning_curve_figures,
    learning_curve_in_words,
    points_per_doubling,
    unseen_in_words,
)
from core.share.card_facts import calibration_of, class_counts, dataset_fingerprint, part_lists
from core.share.card_html import (
    MAX_LISTED,
    esc,
    hash_list,
    html_pairs,
    html_table,
    listing,
    percent,
    score,
)
from core.share.charts import (
    MAX_DRAWN_CLASSES,
    confusion_svg,
    largest_confusions,
    learning_curve_svg,
    line_chart,
    reliability_svg,
)
from core.share.script import clean, recorded_runs


def section_header(bundle: ModelBundle, name: str) -> str:
    metrics = bundle.metrics
    val = sum(s.get("support", 0) for s in (metrics.get("per_class") or {}).values())
    test = metrics.get("test") or {}
    params = sum(math.prod(w.shape) for w in bundle.weights)
    tiles = [
        ("Validation accuracy", percent(metrics.get("accuracy"))),
        ("Validation images", f"{val:,}" if metrics else "not recorded"),
        ("Classes", f"{len(bundle.class_names)}"),
        ("Epochs", f"{len(bundle.training.get('history') or [])}"),
        ("Weights", f"{params:,}"),
    ]
    if test:
        tiles.insert(1, ("Test accuracy", percent(test.get("accuracy"))))
        unseen = test.get("unseen")
        if isinstance(unseen, dict) and unseen_in_words(unseen) is not None:
            fair = percent(unseen.get("accuracy")) if unseen.get("accuracy") is not None else "–"
            tiles.insert(2, ("Test images it never saw", fair))
    big = "".join(f"<div>{esc(label)}<b>{esc(value)}</b></div>" for label, value in tiles)
    title = TITLES.get(bundle.preset, bundle.preset)
    saved = f"saved {bundle.created}" if bundle.created else "not saved yet"
    return (
        f"<h1>Model card: {esc(name)}</h1>"
        f'<p class="muted">{esc(title)} ({esc(bundle.preset)}), made with CNN Studio '
        f"{esc(bundle.app_version)}, {esc(saved)}. "
        f"Card written {esc(datetime.now(timezone.utc).isoformat(timespec='seconds'))} by "
        f'CNN Studio {esc(__version__)}.</p><div class="big">{big}</div>'
    )


def section_model(bundle: ModelBundle) -> str:
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
    return "<h2>Model</h2>" + html_pairs(rows)


def section_dataset(bundle: ModelBundle, now: dict[str, Any] | None) -> str:
    parts = ["<h2>Dataset</h2>"]
    root = bundle.files.get("root")
    parts.append(html_pairs([("Folder", root or "not recorded")]))
    counts = class_counts(bundle)
    names = list(bundle.class_names)
    if counts is None:
        per_class = bundle.metrics.get("per_class") or {}
        rows = [(n, per_class.get(n, {}).get("support", "–")) for n in names]
        parts.append(
            '<p class="note">The model file lists no images; validation images per class '
            "from its scores:</p>" + html_table(("class", "validation"), rows, (1,))
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
        parts.append(html_table([*header, "total"], rows, range(1, len(header) + 1)))
    recorded = bundle.files.get("skipped")
    if isinstance(recorded, list) and recorded:
        parts.append("<h3>Files left out when the model was trained</h3>")
        parts.append(listing(recorded, "file"))
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


def _section_folder_now(now: dict[str, Any]) -> str:
    parts = ["<h3>The folder now (when this card was written)</h3>"]
    if not any(now.values()):
        parts.append('<p class="note">It holds exactly the images the model file lists.</p>')
        return "".join(parts)
    if now["skipped"]:
        parts.append("<p>Left out by the scan, with the reason:</p>")
        parts.append(listing(now["skipped"], "entry"))
    if now["unlisted"]:
        parts.append(
            "<p>Files in class folders that the model file does not list (they could not be "
            "decoded as images when it was trained, or were added since):</p>"
        )
        parts.append(listing(now["unlisted"], "file"))
    if now["missing"]:
        parts.append("<p>Listed in the model file but no longer in the folder:</p>")
        parts.append(listing(now["missing"], "file"))
    return "".join(parts)


def section_settings(bundle: ModelBundle) -> str:
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
        if key == "fine_tune" and not is_pretrained(bundle.preset):
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
    return (
        "<h2>Training settings</h2>" + html_table(header, rows) + f'<p class="note">{esc(note)}</p>'
    )


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


def section_curves(bundle: ModelBundle) -> str:
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
        f'<p class="note">{esc(note)}</p>'
    )


def section_learning_curve(bundle: ModelBundle) -> str:
    """How much more photos would help: the learning curve a pretrained head's run recorded
    (core.learn.learning_curve), its figures and one plain sentence; nothing for other runs."""
    runs = bundle.training.get("runs") or []
    points = (runs[-1].get("learning_curve") or []) if runs else []  # checked by the schema
    if not points:
        return ""
    gain = points_per_doubling(points)
    note = (
        "The model's last layer (the head on the pretrained network's features) was trained "
        "afresh, with the same settings and seed, on a quarter, half, three quarters and all "
        "of the training images (each class keeping its share, the smaller sets inside the "
        "larger) and checked on the same validation images; so the last point can differ from "
        "the model's own accuracy by a few points. "
        + (
            f"The straight line that fits the points best against the logarithm of the "
            f"images rises {gain:.1f} points each time the images double: the sentence above. "
            if gain is not None
            else ""
        )
        + "With few validation images a point or two is chance."
    )
    return (
        "<h2>How much would more photos help?</h2>"
        f"<p><b>{esc(learning_curve_in_words(points) or '')}</b></p>"
        f'<div class="figures">{learning_curve_svg(points)}</div>'
        f"<p>Validation accuracy: {esc(learning_curve_figures(points))}.</p>"
        f'<p class="note">{esc(note)}</p>'
    )


def _scores_block(metrics: dict[str, Any], names: list[str], what: str) -> str:
    if not metrics or "per_class" not in metrics:
        return f'<p class="note">No {esc(what)} scores are recorded in the model file.</p>'
    accuracy = f"<b>{percent(metrics.get('accuracy'))}</b>"
    unseen = metrics.get("unseen")
    fair = unseen_in_words(unseen, digits=2) if isinstance(unseen, dict) else None
    if fair is None:
        parts = [f"<p>Accuracy on the {esc(what)} images: {accuracy}</p>"]
    else:  # a given folder held copies of training images: the fair figure beside the whole
        total = sum(int(s.get("support", 0)) for s in (metrics.get("per_class") or {}).values())
        parts = [
            f"<p>Accuracy on the {esc(what)} images: {accuracy} on {total:,}; {esc(fair)}.</p>"
        ]
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
        parts.append(html_table(("real class", "answered", "images"), rows, (2,)))
    per_class = metrics["per_class"]
    rows = [
        (
            name,
            score(s.get("precision")),
            score(s.get("recall")),
            score(s.get("f1")),
            s.get("support", "–"),
        )
        for name, s in ((n, per_class.get(n) or {}) for n in names)
    ]
    parts.append(html_table(("class", "precision", "recall", "F1", "images"), rows, (1, 2, 3, 4)))
    return "".join(parts)


def section_results(bundle: ModelBundle) -> str:
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
                percent(m.get("probability")),
            )
            for m in mistakes[:MAX_LISTED]
        ]
        parts.append(
            f"<details><summary>The most confident mistakes ({len(rows)})</summary>"
            + html_table(("file", "real class", "answered", "confidence"), rows, (3,))
            + "</details>"
        )
    return "".join(parts)


def section_calibration(bundle: ModelBundle) -> str:
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
        ("Calibration error (ECE) before", percent(calibration.get("ece_before"))),
        ("Calibration error (ECE) after", percent(calibration.get("ece_after"))),
    ]
    if calibration.get("images"):
        rows.append(("Fitted on", f"{calibration['images']:,} validation images"))
    if error is not None:
        rows.append(("Calibration error on the validation images", percent(error)))
    if calibration.get("note"):
        rows.append(("Note", calibration["note"]))
    parts.append(html_pairs(rows))
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


def section_files(bundle: ModelBundle) -> str:
    parts = ["<h2>Training files</h2>"]
    fingerprint = dataset_fingerprint(bundle)
    if fingerprint is None:
        parts.append('<p class="note">Not recorded: the model file lists no images.</p>')
        return "".join(parts)
    what = bundle.files.get("hash") or "not recorded"
    parts.append(
        html_pairs(
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
    lists = part_lists(bundle)
    for part, words in (("train", "Training"), ("val", "Validation"), ("test", "Test")):
        if lists[part]:
            parts.append(hash_list(lists[part], words))
    return "".join(parts)
