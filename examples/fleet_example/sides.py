"""What the fleet tracker's pair modules share: the legacy models bound to ``ctx.db`` per call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.registry import Pair

SideFunc = Callable[..., Any]


def legacy_side(p: Pair) -> Callable[[SideFunc], SideFunc]:
    """Register ``func`` as ``p``'s legacy side, run with the fleet models bound to ``ctx.db``."""
    from fleet_example.legacy import MODELS

    return p.legacy_bound(MODELS)


def first(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The first row whose columns equal ``match``."""
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))
