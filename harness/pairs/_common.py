"""What the reference application's pair modules share: the legacy models bound per call.

The reference models carry no database (as in an application that binds them per request), so
a legacy side runs with them bound to ``ctx.db``: decorate it with ``legacy_side(pair)`` instead
of ``@pair.legacy``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from harness.registry import Pair

SideFunc = Callable[..., Any]


def legacy_side(p: Pair) -> Callable[[SideFunc], SideFunc]:
    """Register ``func`` as ``p``'s legacy side, run with the reference models bound to ``ctx.db``."""

    def decorate(func: SideFunc) -> SideFunc:
        @functools.wraps(func)
        def side(ctx: Any, **params: Any) -> Any:
            from fixtures.legacy import bound

            with bound(ctx.db):
                return func(ctx, **params)

        p.legacy(side)
        return func

    return decorate
