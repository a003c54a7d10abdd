"""What the runtime shadow mode costs a request of the example app (examples/shadow_app).

Run with benchmarks on (the project's addopts turn them off)::

    python -m pytest benchmarks/test_bench_shadow.py --benchmark-enable -p no:cacheprovider -s

``GET /orgs/<org>/issues?limit=20`` through Flask's test client on a seeded SQLite fixture, in
four modes: ``bare`` (the route calls the legacy side itself, no shadow at all), ``disabled``
(``Shadow(enabled=False)``), ``sample=0`` (on, the candidate never sampled) and ``sample=1``
(every request runs the new side too, normalizes, judges and publishes 5% of the equal calls to a
JSON Lines file). The summary test interleaves the modes round by round (the machine's load hits
all of them alike) and prints each mode's median per request and its ratio to ``bare``.
"""

from __future__ import annotations

import statistics
import sys
import time
import timeit
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.database.provider import DualORM
from harness.database.scratch import open_target
from harness.reference.data import generate
from harness.reference.provider import provider
from harness.shadow import Shadow

pytest.importorskip("flask", reason="the example needs the [example] extra")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODES = ("bare", "disabled", "sample=0", "sample=1")
ROUNDS = 30
REQUESTS_PER_ROUND = 20


class _Bare:
    """Stands in for a Shadow: the route calls the legacy side and nothing else."""

    def run(self, name: str, *, legacy: Any, **_: Any) -> Any:
        return legacy()


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], str]]:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    from shadow_app.app import ROUTER_MODULES, create_app

    fx = generate(seed=0, tenants=3, scale=1)
    logs = tmp_path_factory.mktemp("shadow")
    with open_target(None) as target:
        provider.create_schema(target)
        provider.load(target, fx)
        orm = DualORM(f"sqlite:///{target.url.path}")
        shadows = {
            "disabled": Shadow(sink=logs / "off.jsonl", enabled=False),
            "sample=0": Shadow(sink=logs / "s0.jsonl", sample=0.0, pairs=list(ROUTER_MODULES)),
            "sample=1": Shadow(sink=logs / "s1.jsonl", sample=1.0, pairs=list(ROUTER_MODULES)),
        }
        clients: dict[str, Any] = {"bare": create_app(orm, _Bare()).test_client()}  # type: ignore[arg-type]
        for mode, shadow in shadows.items():
            clients[mode] = create_app(orm, shadow).test_client()
        org = next(t for t in fx.tenants if any(r["organizationId"] == t for r in fx.rows("Issue")))
        try:
            yield clients, f"/orgs/{org}/issues?limit=20"
        finally:
            for shadow in shadows.values():
                shadow.close()
            orm.close()


@pytest.mark.parametrize("mode", MODES)
def test_request(benchmark: Any, apps: tuple[dict[str, Any], str], mode: str) -> None:
    clients, path = apps
    response = benchmark(clients[mode].get, path)
    assert response.status_code == 200


def test_overhead_summary(apps: tuple[dict[str, Any], str]) -> None:
    """Interleaved rounds; each mode's median ms per request and its ratio to ``bare``."""
    clients, path = apps
    bodies = {mode: clients[mode].get(path).get_json() for mode in MODES}
    assert all(body == bodies["bare"] for body in bodies.values())  # shadowing changes nothing
    per_request: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_ in range(ROUNDS):
        order = MODES[round_ % len(MODES) :] + MODES[: round_ % len(MODES)]
        for mode in order:
            client = clients[mode]
            started = time.perf_counter()
            for _ in range(REQUESTS_PER_ROUND):
                client.get(path)
            per_request[mode].append((time.perf_counter() - started) * 1000 / REQUESTS_PER_ROUND)
    print(f"\nshadow overhead per request, GET {path.split('?')[0]}?limit=20, SQLite:")
    for mode in MODES:
        median = statistics.median(per_request[mode])
        # The median of per-round ratios: each round's modes ran back to back, under one load.
        ratio = statistics.median(
            m / b for m, b in zip(per_request[mode], per_request["bare"], strict=True)
        )
        print(f"  {mode:<9} {median:7.3f} ms   x{ratio:.2f} of bare (median of paired rounds)")

    shadow = Shadow(sink=Path("/dev/null"), enabled=False)
    legacy = [1].copy
    direct = min(timeit.repeat(lambda: legacy(), number=100_000, repeat=5)) / 100_000 * 1e9
    disabled = (
        min(
            timeit.repeat(
                lambda: shadow.run("op", legacy=legacy, new=legacy), number=100_000, repeat=5
            )
        )
        / 100_000
        * 1e9
    )
    print(f"  Shadow.run disabled: {disabled:.0f} ns per call (the bare side: {direct:.0f} ns)")
    shadow.close()
