"""Jinja filters for the theme: dates, numbers and stars in plain language."""

from __future__ import annotations

import datetime as dt


def human_date(value: dt.date) -> str:
    """31 October 2026"""
    return f"{value.day} {value:%B %Y}" if value else ""


def month_year(value: dt.date) -> str:
    """October 2026"""
    return f"{value:%B %Y}" if value else ""


def number(value) -> str:
    """450, 1,250 or 12.5 — no trailing .0"""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def stars(rating: int | None) -> str:
    """★★★★☆ for 4 of 5 (for sighted readers; templates add text for the rest)."""
    if not rating:
        return ""
    rating = int(round(rating))
    return "★" * rating + "☆" * (5 - rating)


def jsonld(data) -> str:
    """JSON for a <script type="application/ld+json"> block, safe inside HTML."""
    import json

    from markupsafe import Markup

    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


FILTERS = {"human_date": human_date, "month_year": month_year, "number": number,
           "stars": stars, "jsonld": jsonld, "isodate": lambda d: d.isoformat() if d else ""}

