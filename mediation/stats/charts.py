"""Charts as SVG built by code: the same markup serves printed reports and web pages.

Every label is escaped; sizes are in user units with a ``viewBox`` so the chart scales to its
box. Colours are those of a printed report (readable in greyscale).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

FONT = "Noto Serif CJK SC, BabelStone Han, HanaMinA, HanaMinB, serif"
PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#d08b1c", "#6b4c9a", "#2a8a8a", "#8c564b",
           "#7f7f7f", "#b5a33a", "#3d6fb6", "#c46aa0", "#5a5a5a", "#9c7a3c", "#4aa0c4",
           "#a05050")


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def bar_chart(items: Sequence[tuple[str, int | float]], *, title: str = "",
              width: int = 480, bar_height: int = 18, gap: int = 7, label_width: int = 110,
              color: str = PALETTE[0], unit: str = "") -> Markup:
    """A horizontal bar chart of ``(label, value)`` pairs, largest scale first as given."""
    top = 26 if title else 6
    height = top + max(len(items), 1) * (bar_height + gap) + 6
    biggest = max((v for _, v in items), default=0) or 1
    plot = width - label_width - 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" font-family="{FONT}" font-size="11">']
    if title:
        out.append(f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>')
    if not items:
        out.append(f'<text x="{label_width}" y="{top + 13}" fill="#666">无数据</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + gap)
        w = plot * (value / biggest)
        out.append(f'<text x="{label_width - 6}" y="{y + bar_height * 0.72:.1f}" '
                   f'text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{label_width + w + 5:.1f}" y="{y + bar_height * 0.72:.1f}">'
                   f'{escape(_fmt(value))}{escape(unit)}</text>')
    out.append(f'<line x1="{label_width}" y1="{top - 2}" x2="{label_width}" '
               f'y2="{height - 4}" stroke="#000" stroke-width="0.8"/>')
    out.append("</svg>")
    return Markup("".join(out))


def donut_chart(items: Sequence[tuple[str, int | float]], *, title: str = "",
                width: int = 480, height: int = 200, center_label: str = "") -> Markup:
    """A donut of ``(label, value)`` shares with a legend (values and percentages)."""
    top = 26 if title else 6
    total = sum(v for _, v in items)
    r_out = (height - top - 8) / 2
    r_in = r_out * 0.58
    cx, cy = r_out + 8, top + r_out + 2
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" font-family="{FONT}" font-size="11">']
    if title:
        out.append(f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>')
    if total <= 0:
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{(r_out + r_in) / 2:.1f}" '
                   f'fill="none" stroke="#ddd" stroke-width="{r_out - r_in:.1f}"/>')
        out.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" fill="#666">'
                   f'无数据</text>')
    else:
        angle = -math.pi / 2
        for i, (_, value) in enumerate(items):
            if value <= 0:
                continue
            sweep = 2 * math.pi * value / total
            color = PALETTE[i % len(PALETTE)]
            if sweep >= 2 * math.pi - 1e-9:
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{(r_out + r_in) / 2:.2f}" '
                           f'fill="none" stroke="{color}" stroke-width="{r_out - r_in:.2f}"/>')
                break
            a2 = angle + sweep
            large = 1 if sweep > math.pi else 0
            p = [(cx + r_out * math.cos(angle), cy + r_out * math.sin(angle)),
                 (cx + r_out * math.cos(a2), cy + r_out * math.sin(a2)),
                 (cx + r_in * math.cos(a2), cy + r_in * math.sin(a2)),
                 (cx + r_in * math.cos(angle), cy + r_in * math.sin(angle))]
            out.append(
                f'<path fill="{color}" stroke="#fff" stroke-width="1" d="'
                f'M{p[0][0]:.2f} {p[0][1]:.2f} A{r_out:.2f} {r_out:.2f} 0 {large} 1 '
                f'{p[1][0]:.2f} {p[1][1]:.2f} L{p[2][0]:.2f} {p[2][1]:.2f} '
                f'A{r_in:.2f} {r_in:.2f} 0 {large} 0 {p[3][0]:.2f} {p[3][1]:.2f} Z"/>')
            angle = a2
        if center_label:
            out.append(f'<text x="{cx:.1f}" y="{cy + 5:.1f}" text-anchor="middle" '
                       f'font-size="14" font-weight="bold">{escape(center_label)}</text>')
    lx = cx + r_out + 24
    for i, (label, value) in enumerate(items):
        y = top + 8 + i * 19
        share = f"{100 * value / total:.1f}%" if total else "—"
        out.append(f'<rect x="{lx:.1f}" y="{y}" width="11" height="11" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{lx + 17:.1f}" y="{y + 10}">{escape(label)}　'
                   f'{escape(_fmt(value))}（{share}）</text>')
    out.append("</svg>")
    return Markup("".join(out))
