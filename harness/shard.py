"""Splitting a run into parts: ``--shard K/N`` across CI jobs (``--workers N`` hands out work
as its workers ask for it instead: :func:`harness.drive.run_parallel`).

The units are the planned cases (pair x case) and, when latency is measured, each pair's
measurement. They are dealt out deterministically: heaviest first, each to the part with the
least work so far (ties to the lowest part), so every job that plans the same run computes the
same split. The weight of a unit is its recorded cost in an earlier results file when one is
given (``--shard-costs FILE``: each case's ``legacy.ms + new.ms``, each pair's measurement its
``--bench-time``), else the same for every case. The run's *identity* (a digest of the version,
the fixture settings and every planned case id) lets ``harness merge`` check that its shards
belong together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from harness.errors import ConfigError

T = TypeVar("T")

# What a case costs beyond its sides (transactions, normalizing, judging), in ms; the weight of
# a case no earlier run recorded is the median of those recorded.
CASE_FRAME_MS = 1.0


@dataclass(frozen=True)
class Shard:
    """The K-th (1-based) of N parts of a run."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(value: Any) -> Shard:
    """``"K/N"`` with 1 <= K <= N; a bad value names itself."""
    text = str(value).strip()
    index, sep, total = text.partition("/")
    try:
        shard = Shard(int(index), int(total)) if sep else None
    except ValueError:
        shard = None
    if shard is None or not 1 <= shard.index <= shard.total:
        raise ConfigError.bad_value("--shard", value, "K/N with 1 <= K <= N, e.g. 2/3")
    return shard


def balance(units: Sequence[T], parts: int, weight: Callable[[T], float]) -> list[list[T]]:
    """Deal ``units`` into ``parts`` lists of about equal total weight, each in its given order."""
    loads = [0.0] * parts
    chosen: list[list[tuple[int, T]]] = [[] for _ in range(parts)]
    heaviest_first = sorted(enumerate(units), key=lambda item: (-weight(item[1]), item[0]))
    for position, unit in heaviest_first:
        part = min(range(parts), key=lambda p: (loads[p], p))
        loads[part] += weight(unit)
        chosen[part].append((position, unit))
    return [[unit for _, unit in sorted(part)] for part in chosen]


def recorded_costs(path: Path) -> dict[str, float]:
    """Each case's cost in ms (``"<pair>[<label>]"`` -> ms) from an earlier results file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        costs = {}
        for pair in data["pairs"]:
            for case in pair.get("cases", ()):
                ms = (case.get("legacy") or {}).get("ms", 0.0) + (case.get("new") or {}).get(
                    "ms", 0.0
                )
                costs[f"{pair['name']}[{case['label']}]"] = float(ms) + CASE_FRAME_MS
        return costs
    except FileNotFoundError as exc:
        raise ConfigError(
            f"--shard-costs {path}: no such file; give an earlier run's results.json or leave it out"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"--shard-costs {path}: not a harness results file ({type(exc).__name__}: {exc})"
        ) from exc


def case_weight(costs: dict[str, float]) -> Callable[[str], float]:
    """The weight of a case id: its recorded cost, else the median recorded (1 with none)."""
    known = sorted(costs.values())
    default = known[len(known) // 2] if known else 1.0
    return lambda case_id: costs.get(case_id, default)


def run_identity(*, version: str, settings: dict[str, Any], case_ids: Sequence[str]) -> str:
    """A digest naming one planned run: the same in every shard of it, different otherwise."""
    digest = hashlib.sha256()
    digest.update(json.dumps([version, settings], sort_keys=True, default=str).encode())
    for case_id in case_ids:
        digest.update(case_id.encode() + b"\0")
    return digest.hexdigest()[:16]
