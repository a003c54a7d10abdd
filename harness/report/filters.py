"""The report's text helpers, also its Jinja filters: values as JSON, numbers, cut text.

Every value the page shows goes through :func:`dump` (JSON, the quoting results.json and the
diff summaries use too), so a reader meets one quoting style everywhere.
"""

from __future__ import annotations

import json
from typing import Any


def dump(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON text, anything JSON has no type for as its ``str``."""
    return json.dumps(value, ensure_ascii=False, default=str, indent=indent)


def canonical(value: Any) -> str:
    """``value`` as JSON with sorted keys: equal values give equal text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def clip(text: str | None, limit: int, *, tail: bool = False) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if text is None or len(text) <= limit:
        return text or ""
    if tail:  # a traceback's end names the failing line: keep that
        return f"… ({len(text) - limit:,} characters cut)\n{text[-limit:]}"
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def short(value: Any, limit: int = 120) -> str:
    """A string as it is, anything else as JSON; cut to ``limit`` with an ellipsis."""
    text = value if isinstance(value, str) else dump(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def num(value: float | int | None) -> str:
    """A count with thousands separators; a whole float as an int; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():  # a median of whole counts
        value = int(value)
    return f"{value:,}"


def counted(value: int, singular: str, plural: str | None = None) -> str:
    """``3|counted("query", "queries")`` -> ``3 queries``; ``1`` -> ``1 query``."""
    return f"{num(value)} {singular if value == 1 else plural or singular + 's'}"


def ms(value: float | None) -> str:
    """Milliseconds: three decimals under 1 ms, two above."""
    if value is None:
        return "—"
    return f"{value:,.3f}" if value < 1 else f"{value:,.2f}"


def ratio(value: float | None) -> str:
    """A ratio with a multiplication sign, ``1.23`` then U+00D7; None as a dash."""
    return "—" if value is None else f"{value:.2f}\N{MULTIPLICATION SIGN}"
