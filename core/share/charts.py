"""Charts for the model card, drawn as inline SVG text: training curves, the confusion matrix
and the reliability diagram.

The card must open anywhere, offline and without scripts, so the charts are plain SVG elements
written here (no plotting library, no JavaScript). Every text that came from a model file (class
names) is escaped. Colours come from CSS classes the card's style sheet defines, so the charts
follow its light or dark scheme. Needs only the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

#: Curves' colours, by series, as CSS classes of the card's style sheet.
SERIES_CLASSES = ("s0", "s1", "s2", "s3")
#: Above this many classes the matrix is listed as its largest confusions instead of drawn.
MAX_DRAWN_CLASSES = 40
#: Characters of a class name shown beside the matrix (the whole name is its tooltip).
LABEL_CHARS = 16


def _num(value: float) -> str:
    """A coordinate, short: SVG does not need 15 digits."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high`` (about ``count`` of them)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _tick_text(value: float) -> str:
    return f"{value:.10g}" if abs(value) >= 1e-9 else "0"


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[float | None]]],
    y_label: str,
    boundaries: Sequence[int] = (),
    percent: bool = False,
) -> str:
    """An SVG line chart of per-epoch values (epoch 1 on the left), one line per series.

    ``series`` holds (name, values) with None where an epoch has no value; ``boundaries`` are
    epochs after which a continued run began (drawn as dashed lines). ``percent`` shows a 0..1
    range as percentages.
    """
    width, height = 460, 270
    left, right, top, bottom = 58, 16, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None and math.isfinite(v)]
    epochs = max((len(vs) for _, vs in series), default=0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text class="title" x="{left}" y="20">{escape(title)}</text>',
    ]
    if not values or not epochs:
        parts.append(
            f'<text class="note" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "not recorded</text></svg>"
        )
        return "".join(parts)
    low, high = (0.0, 1.0) if percent else (min(0.0, min(values)), max(values))
    ticks = nice_ticks(low, high)
    y_min, y_max = ticks[0], ticks[-1]

    def x_of(epoch: int) -> float:  # epoch counted from 1
        return left + (plot_w * (epoch - 1) / (epochs - 1) if epochs > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - y_min) / (y_max - y_min))

    for tick in ticks:
        y = _num(y_of(tick))
        label = f"{tick:.0%}" if percent else _tick_text(tick)
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{label}</text>'
        )
    step = max(1, math.ceil(epochs / 10))
    for epoch in range(1, epochs + 1, step):
        parts.append(
            f'<text class="tick" x="{_num(x_of(epoch))}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{epoch}</text>'
        )
    parts.append(
        f'<text class="axis" x="{left + plot_w / 2}" y="{height - 8}" '
        'text-anchor="middle">epoch</text>'
    )
    parts.append(
        f'<text class="axis" transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    parts.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>')
    for boundary in boundaries:
        if 0 < boundary < epochs:
            x = _num((x_of(boundary) + x_of(boundary + 1)) / 2)
            parts.append(
                f'<line class="run" x1="{x}" x2="{x}" y1="{top}" y2="{top + plot_h}">'
                "<title>a continued run starts here</title></line>"
            )
    legend_x = left + plot_w - sum(8 + 7 * len(name) + 14 for name, _ in series)
    for k, (name, series_values) in enumerate(series):
        css = SERIES_CLASSES[k % len(SERIES_CLASSES)]
        points = [
            (x_of(i + 1), y_of(v))
            for i, v in enumerate(series_values)
            if v is not None and math.isfinite(v)
        ]
        if not points:
            continue
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        parts.append(f'<polyline class="line {css}" points="{path}"/>')
        parts += [
            f'<circle class="dot {css}" cx="{_num(x)}" cy="{_num(y)}" r="2.5"/>' for x, y in points
        ]
        parts.append(
            f'<rect class="key {css}" x="{_num(legend_x)}" y="11" width="10" height="10"/>'
            f'<text class="tick" x="{_num(legend_x + 14)}" y="20">{escape(name)}</text>'
        )
        legend_x += 8 + 7 * len(name) + 14
    parts.append("</svg>")
    return "".join(parts)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def confusion_svg(class_names: Sequence[str], matrix: Sequence[Sequence[int]]) -> str:
    """The confusion matrix as an SVG grid: rows are the real classes, columns the answers;
    a cell's shade is its share of its row (right answers on the diagonal, mistakes off it).
    Each cell's tooltip says what it counts."""
    n = len(class_names)
    cell = max(16, min(44, 520 // max(n, 1)))
    label_w = 8 + 7 * max((len(_short(c)) for c in class_names), default=1)
    left, top = label_w + 24, label_w + 24
    size = cell * n
    width, height = left + size + 12, top + size + 12
    parts = [
        f'<svg class="matrix" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="confusion matrix">',
        f'<text class="axis" x="{left + size / 2}" y="12" text-anchor="middle">answered</text>',
        f'<text class="axis" transform="translate(12 {top + size / 2}) rotate(-90)" '
        'text-anchor="middle">real class</text>',
    ]
    for i, name in enumerate(class_names):
        middle = top + cell * i + cell / 2
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{_num(middle)}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_short(name))}<title>{escape(name)}</title></text>'
        )
        x = left + cell * i + cell / 2
        parts.append(
            f'<text class="tick" transform="translate({_num(x)} {top - 6}) rotate(-90)" '
            f'dominant-baseline="middle">{escape(_short(name))}<title>{escape(name)}</title></text>'
        )
    for i, row in enumerate(matrix):
        total = sum(row)
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            kind = "hit" if i == j else "miss"
            opacity = 0.06 + 0.94 * share if count else 0.0
            title = (
                f"{count} image(s) of {class_names[i]} answered as {class_names[j]}"
                f" ({share:.1%} of the class)"
            )
            parts.append(
                f'<rect class="cell {kind}" x="{left + cell * j}" y="{top + cell * i}" '
                f'width="{cell}" height="{cell}" fill-opacity="{opacity:.3f}">'
                f"<title>{escape(title)}</title></rect>"
            )
            if count and cell >= 22:
                strong = " strong" if share > 0.55 else ""
                parts.append(
                    f'<text class="count{strong}" x="{_num(left + cell * j + cell / 2)}" '
                    f'y="{_num(top + cell * i + cell / 2)}" text-anchor="middle" '
                    f'dominant-baseline="middle">{count}</text>'
                )
    parts.append(f'<rect class="frame" x="{left}" y="{top}" width="{size}" height="{size}"/></svg>')
    return "".join(parts)


def largest_confusions(
    class_names: Sequence[str], matrix: Sequence[Sequence[int]], count: int = 20
) -> list[tuple[str, str, int]]:
    """The ``count`` most frequent mistakes: (real class, answered class, images)."""
    cells = [
        (class_names[i], class_names[j], int(value))
        for i, row in enumerate(matrix)
        for j, value in enumerate(row)
        if i != j and value
    ]
    cells.sort(key=lambda cell: -cell[2])
    return cells[:count]


def reliability_svg(bins: Sequence[dict[str, float]]) -> str:
    """A reliability diagram: for each confidence bin, how often the answers in it were right
    (bars) against the diagonal a perfectly calibrated model follows."""
    width, height = 310, 270
    left, right, top, bottom = 50, 24, 20, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="reliability diagram">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = _num(top + plot_h * (1 - tick))
        x = _num(left + plot_w * tick)
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{tick:.0%}</text>'
        )
        parts.append(
            f'<text class="tick" x="{x}" y="{top + plot_h + 16}" text-anchor="middle">'
            f"{tick:.0%}</text>"
        )
    for entry in bins:
        try:
            lower, upper = float(entry["lower"]), float(entry["upper"])
            accuracy, count = float(entry["accuracy"]), int(entry["count"])
            confidence = float(entry["confidence"])
        except (KeyError, TypeError, ValueError):
            continue
        if not count:
            continue
        x = left + plot_w * lower
        bar_w = max(plot_w * (upper - lower) - 1, 1)
        bar_h = plot_h * accuracy
        title = (
            f"{count} answer(s) with confidence {lower:.0%}–{upper:.0%} (mean {confidence:.1%}):"
            f" {accuracy:.1%} right"
        )
        parts.append(
            f'<rect class="bar" x="{_num(x)}" y="{_num(top + plot_h - bar_h)}" '
            f'width="{_num(bar_w)}" height="{_num(bar_h)}"><title>{escape(title)}</title></rect>'
        )
    parts.append(
        f'<line class="ideal" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top}"/>'
    )
    parts.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>')
    parts.append(
        f'<text class="axis" x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">'
        "confidence of the answer</text>"
    )
    parts.append(
        f'<text class="axis" transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
        'text-anchor="middle">share right</text></svg>'
    )
    return "".join(parts)


def learning_curve_svg(points: Sequence[Sequence[float]]) -> str:
    """A learning curve: validation accuracy (up) against the training images it learnt from
    (across, from 0), one dot a point, each labelled with its accuracy and titled with both
    figures. The accuracy axis spans the points' range, widened to whole tenths (so a gain of
    a few points stays visible, and the tick labels say where the axis starts)."""
    width, height = 460, 270
    left, right, top, bottom = 58, 24, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    pairs = [(float(n), float(a)) for n, a in points]
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="learning curve">',
        f'<text class="title" x="{left}" y="20">Accuracy by training images</text>',
    ]
    if not pairs:
        parts.append(
            f'<text class="note" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "not recorded</text></svg>"
        )
        return "".join(parts)
    accuracies = [a for _, a in pairs]
    y_min = max(0.0, math.floor(min(accuracies) * 10 - 0.5) / 10)
    y_max = min(1.0, math.ceil(max(accuracies) * 10 + 0.5) / 10)
    x_ticks = nice_ticks(0.0, max(n for n, _ in pairs))
    x_max = x_ticks[-1]

    def x_of(images: float) -> float:
        return left + plot_w * images / x_max

    def y_of(accuracy: float) -> float:
        return top + plot_h * (1 - (accuracy - y_min) / (y_max - y_min))

    for tick in nice_ticks(y_min, y_max):
        if not y_min <= tick <= y_max:
            continue
        y = _num(y_of(tick))
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{tick:.0%}</text>'
        )
    for tick in x_ticks:
        parts.append(
            f'<text class="tick" x="{_num(x_of(tick))}" y="{top + plot_h + 16}" '
            f'text-anchor="middle">{_tick_text(tick)}</text>'
        )
    parts.append(
        f'<text class="axis" x="{left + plot_w / 2}" y="{height - 8}" '
        'text-anchor="middle">training images</text>'
    )
    parts.append(
        f'<text class="axis" transform="translate(14 {top + plot_h / 2}) rotate(-90)" '
        'text-anchor="middle">validation accuracy</text>'
    )
    parts.append(f'<rect class="frame" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}"/>')
    path = " ".join(f"{_num(x_of(n))},{_num(y_of(a))}" for n, a in pairs)
    parts.append(f'<polyline class="line s0" points="{path}"/>')
    for n, a in pairs:
        x, y = _num(x_of(n)), _num(y_of(a))
        parts.append(
            f'<circle class="dot s0" cx="{x}" cy="{y}" r="3.5">'
            f"<title>{a:.1%} with {int(n)} training images</title></circle>"
            f'<text class="tick" x="{x}" y="{_num(y_of(a) - 8)}" text-anchor="middle">'
            f"{a:.0%}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
