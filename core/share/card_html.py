"""The model card's look and its HTML building blocks.

The inline style sheet (light and dark), the Content-Security-Policy that forbids scripts,
network and files, and the pieces every section is made of: escaped text, tables, number
formats and ``<details>`` lists. Every text that comes from the model file goes through
:func:`esc`. Shared by :mod:`core.share.card_sections` and :mod:`core.share.card`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from core.share.script import clean

#: Rows of a file list shown in the card (the model file holds them all).
MAX_LISTED_FILES = 100_000
#: Entries of other lists (files found at report time, mistakes) shown in the card.
MAX_LISTED = 200


#: The page's whole style sheet, inline: light and dark colours, tables, charts.
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


def esc(text: object) -> str:
    """Escaped for HTML text and attribute values."""
    return escape(clean(text), quote=True)


def html_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[int] = ()
) -> str:
    """A table with a header row; the columns ``numeric`` are right-aligned."""
    cells = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for row in rows:
        body.append(
            "<tr>"
            + "".join(
                f'<td class="num">{esc(v)}</td>' if i in numeric else f"<td>{esc(v)}</td>"
                for i, v in enumerate(row)
            )
            + "</tr>"
        )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_pairs(rows: Iterable[tuple[str, object]]) -> str:
    """A two-column table of (label, value) rows."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table><tbody>{body}</tbody></table>"


def percent(value: Any) -> str:
    """A share as a percentage ("not recorded" when it is not a finite number)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.2%}"
    return "not recorded"


def score(value: Any) -> str:
    """A score to three decimals ("–" when it is not a finite number)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.3f}"
    return "–"


def listing(entries: Sequence[Any], what: str) -> str:
    """A <details> list of (path, reason) pairs or paths, at most :data:`MAX_LISTED` shown."""
    rows = []
    for entry in entries[:MAX_LISTED]:
        if isinstance(entry, list | tuple) and len(entry) == 2:
            rows.append(f"<li><code>{esc(entry[0])}</code>: {esc(entry[1])}</li>")
        elif isinstance(entry, dict):
            path, reason = entry.get("path", ""), entry.get("reason", "")
            rows.append(f"<li><code>{esc(path)}</code>: {esc(reason)}</li>")
        else:
            rows.append(f"<li><code>{esc(entry)}</code></li>")
    more = len(entries) - MAX_LISTED
    tail = f"<li>… and {more:,} more</li>" if more > 0 else ""
    return (
        f"<details><summary>{len(entries):,} {esc(what)}(s)</summary><ul>{''.join(rows)}{tail}"
        "</ul></details>"
    )


def hash_list(entries: list[tuple[str, str]], what: str) -> str:
    shown = entries[:MAX_LISTED_FILES]
    lines = "\n".join(f"{esc(h)}  {esc(p)}" for p, h in shown)
    more = len(entries) - len(shown)
    tail = f"\n… and {more:,} more (all are in the model file)" if more > 0 else ""
    return (
        f"<details><summary>{esc(what)}: {len(entries):,} images</summary>"
        f"<pre>{lines}{tail}</pre></details>"
    )
