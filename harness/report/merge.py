"""``harness merge``: the results of the shards of one run (``--shard K/N``) joined into one.

Each shard's results.json records its place (``run.shard``: index, total), the run's identity
(a digest of the version, the fixture settings and every planned case) and the whole plan. The
merge checks that the files are the N shards of one run, each exactly once, and that every
planned case ran exactly once; then it puts each pair's cases back in plan order, takes a
pair's latency from the shard that measured it, and judges the whole: one results.json, one
report, one verdict. Shards of an interrupted run merge too: the gate fails, as it does for an
interrupted run.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.records import PairResult, RunResult


def merge_files(paths: list[Path]) -> RunResult:
    """The merged run of the shard results at ``paths``; ConfigError names what does not fit."""
    if not paths:
        raise ConfigError("harness merge: name the shards' results files (results-*.json)")
    shards: dict[int, tuple[Path, dict[str, Any]]] = {}
    identity = total = None
    for path in paths:
        data = _read(path)
        info = (data.get("run") or {}).get("shard")
        if not info:
            raise ConfigError(f"{path}: not the results of a shard (run with --shard K/N)")
        if identity is None:
            identity, total = info["identity"], info["total"]
        elif info["identity"] != identity or info["total"] != total:
            raise ConfigError(
                f"{path}: shard {info['index']}/{info['total']} of another run than "
                f"{paths[0]} (their plans or settings differ); merge the shards of one run"
            )
        if info["index"] in shards:
            raise ConfigError(
                f"shard {info['index']}/{total} given twice: {shards[info['index']][0]} and {path}"
            )
        shards[info["index"]] = (path, data)
    assert total is not None
    missing = sorted(set(range(1, total + 1)) - set(shards))
    if missing:
        names = ", ".join(f"{k}/{total}" for k in missing)
        raise ConfigError(f"shard {names} missing: give all {total} shards' results files")
    return _join([shards[k][1] for k in sorted(shards)], [shards[k][0] for k in sorted(shards)])


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such results file") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or "pairs" not in data:
        raise ConfigError(f"{path}: not a harness results file")
    return data


def _join(datas: list[dict[str, Any]], paths: list[Path]) -> RunResult:
    first = datas[0]
    plan: dict[str, list[str]] = first["run"]["shard"]["plan"]
    runs = [RunResult.from_json(d) for d in datas]
    by_pair: dict[str, list[PairResult]] = {}
    for run in runs:
        for pair in run.pairs:
            by_pair.setdefault(pair.name, []).append(pair)
    pairs = []
    for name, labels in plan.items():
        parts = by_pair.get(name)
        if not parts:
            continue  # deselected in every shard (pytest -k, --only)
        position = {label: i for i, label in enumerate(labels)}
        cases = sorted((c for p in parts for c in p.cases), key=lambda c: position.get(c.label, -1))
        seen: set[str] = set()
        for case in cases:
            if case.label in seen:
                raise ConfigError(f"case {name}[{case.label}] ran in two shards; rerun the shards")
            seen.add(case.label)
        latency = next((p.latency for p in parts if p.latency is not None), None)
        violations = tuple(dict.fromkeys(v for p in parts for v in p.violations))
        pairs.append(
            replace(
                parts[0],
                cases=tuple(cases),
                latency=latency,
                violations=violations,
                skipped_reason=None if cases else parts[0].skipped_reason,
            )
        )
    durations = [float(r.run.get("duration_s", 0.0)) for r in runs]
    run_block = {
        **first["run"],
        "shard": None,
        "merged": {
            "shards": len(runs),
            "identity": first["run"]["shard"]["identity"],
            "files": [str(p) for p in paths],
            "order_seeds": [r.run.get("order_seed") for r in runs],
            "longest_shard_s": max(durations),
        },
        "interrupted": any(r.run.get("interrupted") for r in runs),
        "duration_s": round(sum(durations), 3),
    }
    baselines = [dict(r.baseline) for r in runs if r.baseline is not None]
    baseline = None
    if baselines:
        stale = {json.dumps(s, sort_keys=True): s for b in baselines for s in b.get("stale", ())}
        baseline = {
            **baselines[0],
            "accepted": sum(b.get("accepted", 0) for b in baselines),
            "stale": list(stale.values()),
        }
    return RunResult(
        harness_version=runs[0].harness_version,
        dialect=runs[0].dialect,
        url=runs[0].url,
        pairs=tuple(pairs),
        run=run_block,
        gate_reasons=tuple(dict.fromkeys(reason for r in runs for reason in r.gate_reasons)),
        baseline=baseline,
    )
