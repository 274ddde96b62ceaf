"""Server-rendered charts (SVG, readable without JavaScript) and CSV tables whose cells
cannot be read as formulas by a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, BAR, GAP, LABEL = 560, 18, 6, 160
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def bar_chart(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "items") -> SafeString:
    """A horizontal bar chart of ``(label, value)`` rows, with a title, an axis label
    and each value written at the end of its bar."""
    top = 28
    height = top + len(rows) * (BAR + GAP) + 34
    peak = max([v for _, v in rows] + [1])
    span = WIDTH - LABEL - 60
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(rows):
        y = top + i * (BAR + GAP)
        w = round(span * value / peak) if value else 0
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + BAR - 5}" text-anchor="end" font-size="12">'
            f"{escape(str(label)[:28])}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{w}" height="{BAR}" fill="#3b6fd6"/>'
            f'<text x="{LABEL + w + 4}" y="{y + BAR - 5}" font-size="12">{escape(_num(value))}</text>'
        )
    axis_y = top + len(rows) * (BAR + GAP) + 4
    parts.append(
        f'<line x1="{LABEL}" y1="{axis_y}" x2="{LABEL + span}" y2="{axis_y}" stroke="#888"/>'
        f'<text x="{LABEL + span / 2}" y="{axis_y + 20}" text-anchor="middle" font-size="12">'
        f"{escape(unit)}</text></svg>"
    )
    # Every piece of text above went through escape().
    return mark_safe("".join(parts))  # noqa: S308


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a
    leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
