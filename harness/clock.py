"""The run's clock: one fixed instant, ``ctx.now`` for every side and ``now`` for the provider.

A fixture provider builds its timestamps around it (``generate(..., now=NOW)``), and the pairs see
the same instant as ``ctx.now``, so "created in the last 7 days" means the same rows on every
run and every machine.

Example::

    from harness import NOW          # datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
"""The run's fixed, aware UTC instant (``ctx.now``); the same for both sides and every run."""
