"""Reading a shadow log back as a run: what ``harness report`` and ``harness baseline`` take.

Each operation becomes a pair of the report; its cases are the distinct calls published (by
label: tenant and params), the worst and latest of each; its latency comes from the ``stats``
records (medians of real traffic). The ``stats`` records are cumulative per shadow instance, so
the latest of each instance is taken and instances (processes) are added up. Per operation the
run's ``traffic`` block keeps what the report's traffic table shows: calls seen, compared,
mismatches, errors, dropped and the latency ratio.

Example::

    result = read_shadow_log(Path("shadow.jsonl"))     # a RunResult, as from results.json
    render_report(result, out_dir=Path("reports"))
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.records import STATUS_RANK, CaseResult, Latency, PairResult, RunResult
from harness.shadow.traffic import COUNTS


def is_shadow_log(path: Path) -> bool:
    """True for a ``.jsonl`` file: what ``harness report`` reads as a shadow log."""
    return path.suffix.lower() in (".jsonl", ".ndjson")


def read_shadow_log(path: Path) -> RunResult:
    """The shadow log at ``path`` as a :class:`RunResult`; a clear error for anything else."""
    calls: dict[str, dict[str, CaseResult]] = defaultdict(dict)
    routers: dict[str, str] = {}
    latest_stats: dict[str, dict[str, Any]] = {}
    bad = 0
    first_at: str | None = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise HarnessError(f"{path}: no such shadow log; give the Shadow's sink file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"{path}: cannot read it as a shadow log ({exc})") from exc
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record["kind"]
            if kind == "call":
                case = CaseResult.from_json(record, record["operation"])
                routers[case.pair] = record.get("router") or case.pair.split(".", 1)[0]
                first_at = first_at or record.get("at")
                known = calls[case.pair].get(case.label)
                if known is None or STATUS_RANK[case.status] >= STATUS_RANK[known.status]:
                    calls[case.pair][case.label] = case
            elif kind == "stats":
                held = latest_stats.get(record["instance"])
                if held is None or record["seq"] > held["seq"]:
                    latest_stats[record["instance"]] = record
        except (ValueError, KeyError, TypeError):
            bad += 1  # a line cut short by a crash: the rest of the log still counts
    if not calls and not latest_stats:
        raise HarnessError(
            f"{path}: no shadow records in it ({bad} unreadable lines); "
            "give the JSON Lines file a Shadow(sink=...) writes"
        )
    traffic = _traffic(latest_stats)
    names = sorted(set(calls) | set(traffic))
    pairs = tuple(_pair(name, routers, calls.get(name, {}), traffic.get(name)) for name in names)
    return RunResult(
        harness_version=__version__,
        dialect="shadow",
        url=str(path),
        pairs=pairs,
        run={
            "source": "shadow",
            "started_at": first_at,
            "unreadable_lines": bad,
            "traffic": [{"operation": name, **traffic.get(name, {})} for name in names],
        },
    )


def _pair(
    name: str,
    routers: dict[str, str],
    cases: dict[str, CaseResult],
    traffic: dict[str, Any] | None,
) -> PairResult:
    latency = None
    if traffic and traffic.get("legacy_p50_ms") and traffic.get("new_p50_ms"):
        latency = Latency(
            legacy_p50_ms=traffic["legacy_p50_ms"],
            new_p50_ms=traffic["new_p50_ms"],
            ratio=traffic["ratio_p50"],
            rounds=traffic.get("timed", 0),
            method="shadow traffic",
        )
    skipped = None
    if not cases:
        seen = traffic.get("calls", 0) if traffic else 0
        skipped = f"no call was published ({seen} seen; equal calls are published only as a sample)"
    return PairResult(
        name=name,
        router=routers.get(name, name.split(".", 1)[0]),
        gate=True,
        cases=tuple(cases.values()),
        latency=latency,
        options={"shadow": traffic or {}},
        skipped_reason=skipped,
    )


def _traffic(latest: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each operation's totals over every instance (latency medians weighted by timed calls)."""
    totals: dict[str, dict[str, Any]] = {}
    for record in latest.values():
        for name, op in record.get("operations", {}).items():
            total = totals.setdefault(name, {key: 0 for key in (*COUNTS, "timed")})
            for key in (*COUNTS, "timed"):
                total[key] += int(op.get(key, 0))
            if op.get("ratio_p50") is not None:
                total.setdefault("_lat", []).append(
                    (op.get("timed", 0), op["legacy_p50_ms"], op["new_p50_ms"], op["ratio_p50"])
                )
    for total in totals.values():
        lat = total.pop("_lat", [])
        weight = sum(w for w, *_ in lat)
        if lat and weight:
            for index, key in enumerate(("legacy_p50_ms", "new_p50_ms", "ratio_p50")):
                total[key] = round(sum(w * item[index] for w, *item in lat) / weight, 4)
    return totals
