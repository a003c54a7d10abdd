"""The runtime shadow mode's promises, one by one (no database needed here; see test_shadow_db)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from harness import pair
from harness.errors import ConfigError
from harness.shadow import CandidateTimeout, Shadow


def records(path: Path, kind: str = "call") -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def last_stats(path: Path) -> dict[str, Any]:
    return records(path, "stats")[-1]["operations"]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "shadow.jsonl"


def make(log: Path, **options: Any) -> Shadow:
    options.setdefault("match_sample", 1.0)
    return Shadow(sink=log, **options)


def test_returns_the_control_and_records_both(log: Path) -> None:
    with make(log) as shadow:
        got = shadow.run(
            "op.list",
            legacy=lambda: [{"id": 1, "n": 1}],
            new=lambda: [{"id": 1, "n": 2}],
            tenant_id=None,
            params={"q": "x"},
        )
        assert got == [{"id": 1, "n": 1}]
        assert shadow.run("op.list", legacy=lambda: "L", new=lambda: "N", use="new") == "N"
    first, second = records(log)
    assert first["status"] == "mismatch" and first["params"] == {"q": "x"}
    assert first["diff"]["changes"] == [
        {"path": "[id=1].n", "kind": "changed", "legacy": 1, "new": 2}
    ]
    assert first["legacy"]["result"] == [{"id": 1, "n": 1}]
    assert first["legacy"]["ms"] > 0 and first["use"] == "legacy"
    assert second["use"] == "new" and second["legacy"]["result"] == "L"


def duplicate() -> Any:
    raise sqlite3.IntegrityError("UNIQUE constraint failed: item.code")


def test_the_control_raises_its_own_exception_and_the_candidates_never(log: Path) -> None:
    planted = KeyError("the control's own")

    def control() -> Any:
        raise planted

    with make(log) as shadow:
        with pytest.raises(KeyError) as caught:
            shadow.run("op.get", legacy=control, new=lambda: 1)
        assert caught.value is planted
        assert shadow.run("op.get", legacy=lambda: 1, new=lambda: 1 / 0) == 1
        # Both raise the same category (a unique violation): the same behaviour, equal.
        with pytest.raises(sqlite3.IntegrityError):
            shadow.run("op.both", legacy=duplicate, new=duplicate)
        # Both hit a bug of their own code: no category, an error however alike they look.
        with pytest.raises(ZeroDivisionError):
            shadow.run("op.bug", legacy=lambda: 1 / 0, new=lambda: 2 / 0)
    by_op = {(r["operation"], r["status"]) for r in records(log)}
    assert by_op == {("op.get", "error"), ("op.both", "equal"), ("op.bug", "error")}
    both = next(r for r in records(log) if r["operation"] == "op.both")
    assert (
        both["legacy"]["raised"]["category"]
        == both["new"]["raised"]["category"]
        == ("unique_violation")
    )
    error = next(r for r in records(log) if r["new"]["raised"])
    assert error["new"]["raised"] == {
        "type": "builtins.ZeroDivisionError",
        "message": "division by zero",
        "category": None,  # a bug of the side's own code: no category
    }


def test_nothing_of_the_shadow_reaches_the_caller(log: Path) -> None:
    class Unnormalizable:
        pass

    def failing_sink(record: dict[str, Any]) -> None:
        raise OSError("the sink is down")

    def broken_hook(value: Any) -> Any:
        raise ValueError("a hook with a bug")

    with Shadow(
        sink=failing_sink, match_sample=1.0, pairs=[pair("op.h", normalize=broken_hook)]
    ) as s:
        assert s.run("op.x", legacy=lambda: 1, new=Unnormalizable) == 1
        assert s.run("op.h", legacy=lambda: 1, new=lambda: 1) == 1
        assert s.flush()
        assert s.publisher.sink_errors >= 1
    with make(log, enabled=lambda: 1 / 0) as shadow:  # a feature-flag service that fails
        assert shadow.run("op.x", legacy=lambda: 1, new=lambda: pytest.fail("ran")) == 1


def test_sampling_and_the_kill_switch(log: Path) -> None:
    ran: list[str] = []
    with make(log, sample=0.0) as shadow:
        for _ in range(50):
            shadow.run("op.s", legacy=lambda: 1, new=lambda: ran.append("new"))
        shadow.enabled = False
        for _ in range(5):
            shadow.run("op.s", legacy=lambda: 1, new=lambda: ran.append("new"))
        shadow.enabled = True
        shadow.sample = 1.0
        shadow.run("op.s", legacy=lambda: 1, new=lambda: ran.append("new"))
        flag = {"on": False}
        shadow.enabled = lambda: flag["on"]
        shadow.run("op.s", legacy=lambda: 1, new=lambda: ran.append("off"))
        flag["on"] = True
        shadow.run("op.s", legacy=lambda: 1, new=lambda: ran.append("on"))
        shadow.flush()
    assert ran == ["new", "on"]
    counts = last_stats(log)["op.s"]
    assert counts["calls"] == 52 and counts["compared"] == 2  # disabled calls are not seen


def test_a_registered_pair_judges_by_its_options(log: Path) -> None:
    ordered = pair("op.ordered", ordered=True, ignore={"updatedAt": "touched on read"})
    with make(log, pairs=[ordered]) as shadow:
        for name in ("op.ordered", "op.default"):
            shadow.run(
                name,
                legacy=lambda: [{"id": 1, "updatedAt": 1}, {"id": 2, "updatedAt": 1}],
                new=lambda: [{"id": 2, "updatedAt": 2}, {"id": 1, "updatedAt": 2}],
            )
    status = {r["operation"]: r["status"] for r in records(log)}
    # ordered=True: the order counts, updatedAt is ignored; the defaults: a multiset, every key.
    assert status == {"op.ordered": "mismatch", "op.default": "mismatch"}
    reasons = {r["operation"]: r["diff"]["summary"] for r in records(log)}
    assert "order" in reasons["op.ordered"] and "updatedAt" not in reasons["op.ordered"]
    assert "updatedAt" in json.dumps(records(log)[1]["diff"])


def test_the_tenant_guard_runs_on_live_calls(log: Path) -> None:
    leak = [{"id": 1, "organizationId": "org-b"}]
    with make(log) as shadow:
        shadow.run("op.leak", legacy=lambda: leak, new=lambda: leak, tenant_id="org-a")
    (record,) = records(log)
    assert record["status"] == "mismatch" and record["leaks"]
    assert record["diff"]["summary"].startswith("tenant leak")


def test_decorator_form_records_tenant_and_params(log: Path) -> None:
    def new_list(org: str, status: str | None = None, db: object = None) -> Any:
        return [org, status, "new"]

    with make(log) as shadow:

        @shadow.shadowed("op.deco", new=new_list, tenant="org")
        def list_issues(org: str, status: str | None = None, db: object = None) -> Any:
            """The legacy side."""
            return [org, status, "legacy"]

        assert list_issues("org-1", status="open", db=object()) == ["org-1", "open", "legacy"]
        assert list_issues.__doc__ == "The legacy side."
    (record,) = records(log)
    assert record["tenant_id"] == "org-1" and record["params"] == {"status": "open"}
    with pytest.raises(ConfigError, match="'legacy' or 'new'"):
        Shadow(sink=log).shadowed("op", new=new_list, use="neww")


def test_async_run_awaits_both_and_cancels_a_slow_async_candidate(log: Path) -> None:
    gate = asyncio.Event()

    async def legacy() -> list[int]:
        return [1, 2]

    async def slow() -> list[int]:
        await gate.wait()  # never set: only the timeout ends it
        return [1, 2]

    async def main(shadow: Shadow) -> None:
        assert await shadow.arun("op.async", legacy=legacy, new=lambda: [2, 1]) == [1, 2]
        assert await shadow.arun("op.slow", legacy=legacy, new=slow) == [1, 2]

        @shadow.shadowed("op.adeco", new=legacy)
        async def decorated() -> list[int]:
            return [1, 2]

        assert await decorated() == [1, 2]

    with make(log, timeout=0.2) as shadow:
        asyncio.run(main(shadow))
    status = {r["operation"]: r for r in records(log)}
    assert status["op.async"]["status"] == "equal" and status["op.adeco"]["status"] == "equal"
    assert status["op.slow"]["status"] == "error"
    assert status["op.slow"]["new"]["raised"]["type"].endswith("CandidateTimeout")


def test_a_hanging_candidate_neither_delays_past_the_timeout_nor_piles_up(log: Path) -> None:
    release = threading.Event()
    try:
        with make(log, timeout=0.2, workers=1) as shadow:
            assert shadow.run("op.hang", legacy=lambda: 1, new=release.wait) == 1
            # Its worker is still taken: the next candidate is skipped, not queued.
            assert shadow.run("op.hang", legacy=lambda: 2, new=release.wait) == 2
            shadow.flush()
            counts = last_stats(log)["op.hang"]
    finally:
        release.set()
    assert counts["busy"] == 1 and counts["compared"] == 1 and counts["error"] == 1
    (record,) = records(log)
    assert record["new"]["raised"]["type"] == f"{CandidateTimeout.__module__}.CandidateTimeout"


def test_a_slow_sink_drops_and_counts_instead_of_growing(log: Path) -> None:
    unblock = threading.Event()
    seen: list[dict[str, Any]] = []

    def slow_sink(record: dict[str, Any]) -> None:
        unblock.wait()
        seen.append(record)

    shadow = Shadow(sink=slow_sink, match_sample=1.0, queue_size=3)
    try:
        for n in range(40):
            assert shadow.run("op.q", legacy=lambda n=n: n, new=lambda n=n: n) == n
        assert shadow.publisher._queue.qsize() <= 3
        # At most the queue's worth waits, and at most as much again in the writer's hands.
        assert shadow.publisher.dropped >= 40 - 2 * 3
    finally:
        unblock.set()
        shadow.close()
    calls = [r for r in seen if r["kind"] == "call"]
    stats = [r for r in seen if r["kind"] == "stats"][-1]
    assert len(calls) + stats["dropped"] == 40
    assert stats["operations"]["op.q"]["dropped"] == stats["dropped"]


def test_thread_safe_counts(log: Path) -> None:
    with make(log, match_sample=0.0) as shadow:

        def work() -> None:
            for n in range(200):
                assert shadow.run("op.t", legacy=lambda n=n: n, new=lambda n=n: n) == n

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        shadow.flush()
    counts = last_stats(log)["op.t"]
    assert counts["calls"] == counts["compared"] == counts["equal"] == 1600
    assert records(log) == []  # equal calls published only as a sample, here none


def test_writes_need_a_sandbox(log: Path) -> None:
    ran: list[str] = []
    with make(log) as shadow:
        shadow.run("op.w", legacy=lambda: 1, new=lambda: ran.append("twice"), writes=True)
        shadow.flush()
    assert ran == []
    assert last_stats(log)["op.w"]["refused"] == 1


def test_logging_sink_levels(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.shadow")
    with (
        caplog.at_level(logging.INFO, logger="test.shadow"),
        Shadow(sink=logger, match_sample=1.0) as shadow,
    ):
        shadow.run("op.l", legacy=lambda: 1, new=lambda: 2)
        shadow.run("op.l", legacy=lambda: 1, new=lambda: 1)
    levels = [(r.levelname, json.loads(r.getMessage())["status"]) for r in caplog.records]
    assert levels == [("WARNING", "mismatch"), ("INFO", "equal")]


def test_values_are_cut_to_a_bound(log: Path) -> None:
    wide = [{"id": n, "text": "x" * 500} for n in range(200)]
    with make(log, max_value_chars=2_000) as shadow:
        shadow.run("op.big", legacy=lambda: wide, new=lambda: wide[:-1])
    (record,) = records(log)
    assert record["legacy"]["result"]["$cut"].endswith("characters of JSON")
    assert len(record["legacy"]["result"]["head"]) == 2_000
    assert len(json.dumps(record)) < 20_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sample": 1.5}, "a fraction from 0 to 1"),
        ({"timeout": 0}, "seconds, more than 0"),
        ({"queue_size": 0}, "1 or more"),
        ({"sink": 42}, "a file path, a logging.Logger"),
    ],
)
def test_bad_options_name_the_fix(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Shadow(**options)
