"""What the fleet tracker's pair modules share: the legacy models bound to ``ctx.db`` per call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from harness.registry import Pair

SideFunc = Callable[..., Any]


def legacy_side(p: Pair) -> Callable[[SideFunc], SideFunc]:
    """Register ``func`` as ``p``'s legacy side, run with the fleet models bound to ``ctx.db``."""

    def decorate(func: SideFunc) -> SideFunc:
        @functools.wraps(func)
        def side(ctx: Any, **params: Any) -> Any:
            from fleet_example.legacy import bound

            with bound(ctx.db):
                return func(ctx, **params)

        p.legacy(side)
        return func

    return decorate


def first(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The first row whose columns equal ``match``."""
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))
