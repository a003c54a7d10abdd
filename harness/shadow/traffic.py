"""What a shadow saw of real traffic, per operation: counts and a bounded sample of latencies.

Counts are exact (``calls`` seen while enabled, ``compared``, ``equal``, ``mismatch``, ``error``,
``busy``: candidate not run because every worker was taken, ``refused``: a write without a
sandbox, ``dropped``: records lost to a full queue). Latencies are a reservoir sample of at most
``RESERVOIR`` paired (legacy, new) timings per operation, so memory stays bounded however long
the application runs; the ``stats`` record carries their medians and the median of the per-call
ratios new/legacy.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

RESERVOIR = 512
COUNTS = ("calls", "compared", "equal", "mismatch", "error", "busy", "refused", "dropped")


@dataclass
class _Operation:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    timed: int = 0  # calls whose both timings were offered to the reservoir
    sample: list[tuple[float, float]] = field(default_factory=list)


class Traffic:
    """Thread-safe counters per operation; :meth:`stats_line` is the ``stats`` record."""

    def __init__(self) -> None:
        self.instance = uuid.uuid4().hex[:12]
        self._ops: dict[str, _Operation] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._random = random.Random()

    def count(self, operation: str, what: str) -> None:
        with self._lock:
            op = self._ops.get(operation)
            if op is None:
                op = self._ops[operation] = _Operation()
            op.counts[what] += 1

    def compared(self, operation: str, status: str, legacy_ms: float, new_ms: float) -> None:
        """One call judged; both sides' timings go to the reservoir when both returned."""
        with self._lock:
            op = self._ops.get(operation)
            if op is None:
                op = self._ops[operation] = _Operation()
            op.counts["compared"] += 1
            op.counts[status if status in op.counts else "error"] += 1
            if legacy_ms > 0 and new_ms > 0:
                op.timed += 1
                if len(op.sample) < RESERVOIR:
                    op.sample.append((legacy_ms, new_ms))
                else:  # Algorithm R: every timing so far has the same chance to be kept
                    slot = self._random.randrange(op.timed)
                    if slot < RESERVOIR:
                        op.sample[slot] = (legacy_ms, new_ms)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The totals so far per operation, with latency medians from the reservoir."""
        with self._lock:
            ops = {
                name: (dict(op.counts), op.timed, list(op.sample)) for name, op in self._ops.items()
            }
        out: dict[str, dict[str, Any]] = {}
        for name, (counts, timed, sample) in ops.items():
            entry: dict[str, Any] = {**counts, "timed": timed}
            if sample:
                entry["legacy_p50_ms"] = round(statistics.median(s[0] for s in sample), 4)
                entry["new_p50_ms"] = round(statistics.median(s[1] for s in sample), 4)
                entry["ratio_p50"] = round(statistics.median(s[1] / s[0] for s in sample), 4)
                entry["sampled_timings"] = len(sample)
            out[name] = entry
        return out

    def stats_line(self, *, dropped_total: int, sink_errors: int) -> str | None:
        """The ``stats`` record (cumulative for this shadow instance), or None before any call."""
        operations = self.snapshot()
        if not operations:
            return None
        with self._lock:
            self._seq += 1
            seq = self._seq
        record = {
            "kind": "stats",
            "v": 1,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "instance": self.instance,
            "seq": seq,
            "dropped": dropped_total,
            "sink_errors": sink_errors,
            "operations": operations,
        }
        return json.dumps(record, separators=(",", ":"))
