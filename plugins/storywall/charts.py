"""Small charts drawn as inline SVG at build time (no script, no third party)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from .filters import month_year, number

WIDTH, HEIGHT, PAD = 320, 120, 28


def history_svg(history, label: str, unit: str) -> str:
    """A line chart of one figure's history (oldest → newest), with a text alternative.

    ``history`` is a list of objects with ``value`` and ``as_of``. Returns SVG
    markup; every text in it is escaped here.
    """
    if len(history) < 2:
        return ""
    values = [float(f.value) for f in history]
    top = max(values) or 1.0
    span = (history[-1].as_of - history[0].as_of).days or 1
    points = []
    for fig, value in zip(history, values):
        x = PAD + (WIDTH - 2 * PAD) * (fig.as_of - history[0].as_of).days / span
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top
        points.append((round(x, 1), round(y, 1), fig))
    summary = "; ".join(f"{number(f.value)} {unit} in {month_year(f.as_of)}" for f in history)
    title = escape(f"{label}: {summary}")
    line = " ".join(f"{x},{y}" for x, y, _ in points)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="4"/>' for x, y, _ in points)
    first, last = points[0], points[-1]
    labels = (
        f'<text x="{first[0]}" y="{HEIGHT - 8}" text-anchor="start">{escape(month_year(first[2].as_of))}</text>'
        f'<text x="{last[0]}" y="{HEIGHT - 8}" text-anchor="end">{escape(month_year(last[2].as_of))}</text>'
        f'<text x="{last[0]}" y="{max(last[1] - 10, 12)}" text-anchor="end" class="chart-value">'
        f"{escape(number(last[2].value))}</text>"
    )
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{title}</title>"
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="chart-axis"/>'
            f'<polyline points="{line}" class="chart-line"/>{dots}{labels}</svg>')
