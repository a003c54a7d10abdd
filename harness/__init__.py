"""Query-equivalence shadow testing for ORM migrations: legacy peewee vs new SQLAlchemy 2.x.

Register pairs with :func:`pair` and :class:`Case`; run them with ``harness run`` or
``pytest --harness``.
"""

from __future__ import annotations

from harness.clock import NOW
from harness.registry import Case, Context, Pair, pair

__version__ = "0.1.0"

__all__ = ["NOW", "Case", "Context", "Pair", "__version__", "pair"]
