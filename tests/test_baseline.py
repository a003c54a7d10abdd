"""Accepted differences: loading, fingerprinting, applying and updating a baseline (no database)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import case, error_case, mismatch_case, sample_run, unordered_case

from harness.errors import HarnessError
from harness.gate.baseline import (
    DEFAULT_REASON,
    Baseline,
    BaselineEntry,
    apply_baseline,
    fingerprint,
    load_baseline,
    update_baseline,
)
from harness.records import Change, Diff, PairResult, RowCount, RunResult
from harness.report.results_file import read_results, write_results


def _run(*pairs: PairResult, **run: object) -> RunResult:
    return RunResult("0.1.0", "sqlite", "sqlite:///x", pairs, run=run)


def _pair(*cases: object, name: str = "issue.list") -> PairResult:
    return PairResult(name, name.split(".")[0], True, tuple(cases))  # type: ignore[arg-type]


def _entry(c: object, reason: str = "known", **fields: str) -> BaselineEntry:
    base = BaselineEntry(c.pair, c.label, fingerprint(c), "s", reason)  # type: ignore[attr-defined]
    return replace(base, **fields)


def _baseline(*entries: BaselineEntry) -> Baseline:
    return Baseline(path=Path("harness-baseline.json"), entries=entries, exists=True)


# --- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_ignores_timings_statements_and_results() -> None:
    c = mismatch_case()
    other = replace(
        c,
        legacy=replace(c.legacy, ms=99.0, queries=7, statements=(), result=None),
        new=replace(c.new, ms=0.01),
        order=("new", "legacy"),
    )
    assert fingerprint(c) == fingerprint(other)
    assert fingerprint(c).startswith("sha256:")


def test_fingerprint_changes_with_the_difference() -> None:
    c = mismatch_case()
    assert c.diff is not None
    changed_value = replace(
        c, diff=replace(c.diff, changes=(Change("[0].title", "changed", "a", "b"),))
    )
    assert fingerprint(changed_value) != fingerprint(c)
    assert fingerprint(replace(c, leaks=("a leak",))) != fingerprint(c)
    err = error_case()
    assert err.error is not None
    other_msg = replace(err, error=replace(err.error, message="another message"))
    assert fingerprint(other_msg) != fingerprint(err)
    other_type = replace(err, error=replace(err.error, type="ProgrammingError"))
    assert fingerprint(other_type) != fingerprint(err)


def test_fingerprint_ignores_the_order_of_one_sided_rows() -> None:
    c = unordered_case()
    assert c.diff is not None
    flipped = replace(c, diff=replace(c.diff, only_new=tuple(reversed(c.diff.only_new))))
    assert fingerprint(flipped) == fingerprint(c)
    counted = replace(c, diff=replace(c.diff, only_new=(RowCount(c.diff.only_new[0].row, 5),)))
    assert fingerprint(counted) != fingerprint(c)


def test_fingerprint_ignores_scratch_database_names_in_errors() -> None:
    err = error_case()
    assert err.error is not None
    a = replace(err, error=replace(err.error, message='database "harness_3f9c2a1b" is busy'))
    b = replace(err, error=replace(err.error, message='database "harness_77aa01cd" is busy'))
    assert fingerprint(a) == fingerprint(b)


def test_fingerprint_survives_results_json(tmp_path: Path) -> None:
    run = sample_run()
    back = read_results(write_results(run, tmp_path / "results.json"))
    before = [fingerprint(c) for p in run.pairs for c in p.cases]
    after = [fingerprint(c) for p in back.pairs for c in p.cases]
    assert before == after and len(set(before)) > 3


def test_fingerprint_is_the_same_under_the_first_quoting_of_ids_and_leaks() -> None:
    """Baselines written when row ids and leaks used Python's quoting keep accepting."""
    c = unordered_case()
    assert c.diff is not None

    def written(path: str, leak: str) -> str:
        change = Change(path, "changed", "Flipper", "flipper")
        return fingerprint(replace(c, diff=replace(c.diff, changes=(change,)), leaks=(leak,)))

    before = written("[id='b'].title", "new: [0].organizationId = 'org-2' (case tenant 'org-1')")
    now = written('[id="b"].title', 'new: [0].organizationId = "org-2" (case tenant "org-1")')
    assert now == before
    assert (
        written('[id="c"].title', 'new: [0].organizationId = "org-2" (case tenant "org-1")')
        != before
    )
    assert (
        written('[id="b"].title', 'new: [0].organizationId = "org-3" (case tenant "org-1")')
        != before
    )


# --- load -------------------------------------------------------------------------------------


def test_missing_file_is_an_empty_baseline(tmp_path: Path) -> None:
    baseline = load_baseline(tmp_path / "none.json")
    assert len(baseline) == 0 and not baseline.exists


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not JSON"),
        ('{"entries": {}}', 'expected {"entries": [...]}'),
        ('{"entries": [1]}', "entry 0 is not an object"),
        ('{"entries": [{"pair": "a", "case": "b", "diff": "x"}]}', "entry 0 lacks reason"),
        (
            '{"entries": [{"pair": "a", "case": "b", "diff": "x", "reason": "r"},'
            ' {"pair": "a", "case": "b", "diff": "y", "reason": "r"}]}',
            "entry 1 repeats a[b]",
        ),
    ],
)
def test_malformed_file_is_one_clear_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "harness-baseline.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HarnessError) as info:
        load_baseline(path)
    message = str(info.value)
    assert str(path) in message and problem in message
    assert "\n" not in message


def test_load_reads_what_update_writes(tmp_path: Path) -> None:
    path = tmp_path / "harness-baseline.json"
    update_baseline(sample_run(), path, reason="migrating router by router")
    baseline = load_baseline(path)
    assert baseline.exists
    names = sorted(f"{e.pair}[{e.case}]" for e in baseline)
    assert names == [
        "issue.list[org-1,limit=5]",
        "issue.search[org-1,q=<script>alert(1)</script>]",
        "location.list[org-1]",
        "location.list[org-2]",
        "machine.list[org-2]",
        "user.profile[org-3]",
    ]
    assert {e.reason for e in baseline} == {"migrating router by router"}
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["harness_baseline"] == 1
    assert data["entries"][0]["summary"] == "2 values differ: [0].title, [2].resolvedAt"


# --- apply ------------------------------------------------------------------------------------


def test_matching_entry_accepts_the_case_and_passes_the_gate() -> None:
    c = mismatch_case()
    run = _run(_pair(c, case("issue.list", "org-2")))
    assert not run.gate_passed
    applied = apply_baseline(run, _baseline(_entry(c, reason="titles are trimmed on purpose")))
    assert applied.pairs[0].cases[0].accepted == "titles are trimmed on purpose"
    assert applied.pairs[0].cases[1].accepted is None
    assert applied.gate_passed
    assert applied.baseline is not None
    assert applied.baseline["accepted"] == 1 and applied.baseline["stale"] == []


def test_disappeared_difference_is_stale_and_fails_the_gate() -> None:
    c = mismatch_case()
    fixed = case("issue.list", c.label)
    applied = apply_baseline(_run(_pair(fixed)), _baseline(_entry(c)))
    assert not applied.gate_passed
    assert applied.gate_reasons == (
        "baseline entry issue.list[org-1,limit=5] is stale: the difference disappeared; "
        "run `harness baseline update`",
    )
    assert applied.baseline is not None
    assert applied.baseline["stale"][0]["why"] == "the difference disappeared"


def test_changed_difference_is_stale_and_the_case_still_fails() -> None:
    c = mismatch_case()
    assert c.diff is not None
    now = replace(c, diff=Diff("1 value differs: [4].title", (Change("[4].title", "changed"),)))
    applied = apply_baseline(_run(_pair(now)), _baseline(_entry(c)))
    assert applied.pairs[0].cases[0].accepted is None
    assert applied.pairs[0].fails_gate
    assert len(applied.gate_reasons) == 1
    assert "the difference changed (now: 1 value differs: [4].title)" in applied.gate_reasons[0]


def test_entry_of_a_vanished_case_is_stale_but_unreached_pairs_are_left_alone() -> None:
    c = mismatch_case()
    gone = _entry(c, case="org-9,limit=5")
    elsewhere = _entry(c, pair="machine.list")
    applied = apply_baseline(_run(_pair(case("issue.list", "org-2"))), _baseline(gone, elsewhere))
    assert applied.gate_reasons == (
        "baseline entry issue.list[org-9,limit=5] is stale: the case no longer exists; "
        "run `harness baseline update`",
    )
    interrupted = apply_baseline(
        _run(_pair(case("issue.list", "org-2")), interrupted=True), _baseline(gone)
    )
    assert interrupted.gate_reasons == ()


def test_apply_twice_lists_each_reason_once() -> None:
    c = mismatch_case()
    baseline = _baseline(_entry(c))
    once = apply_baseline(_run(_pair(case("issue.list", c.label))), baseline)
    twice = apply_baseline(once, baseline)
    assert twice.gate_reasons == once.gate_reasons and len(once.gate_reasons) == 1


def test_cases_without_an_entry_lose_an_older_acceptance() -> None:
    c = replace(mismatch_case(), accepted="from an older baseline")
    applied = apply_baseline(_run(_pair(c)), _baseline())
    assert applied.pairs[0].cases[0].accepted is None
    assert not applied.gate_passed


def test_baseline_from_a_run_read_back_accepts_it(tmp_path: Path) -> None:
    path = tmp_path / "harness-baseline.json"
    run = sample_run()
    update_baseline(run, path, reason=None)
    back = read_results(write_results(run, tmp_path / "results.json"))
    applied = apply_baseline(back, load_baseline(path))
    assert applied.baseline is not None
    assert applied.baseline["accepted"] == 6 and applied.baseline["stale"] == []
    failing = [p.name for p in applied.pairs if p.fails_gate]
    assert failing == ["comment.list"]  # its latency violation is no difference to accept


# --- update -----------------------------------------------------------------------------------


def test_update_keeps_reasons_adds_todo_and_removes_fixed(tmp_path: Path) -> None:
    path = tmp_path / "harness-baseline.json"
    a, b = mismatch_case(label="org-1"), mismatch_case(label="org-2")
    assert update_baseline(_run(_pair(a, b)), path, reason="trimmed on purpose") == (2, 0, 0)

    assert b.diff is not None
    b_changed = replace(b, diff=replace(b.diff, changes=b.diff.changes[:1]))
    c = error_case("issue.list", "org-3")
    run = _run(_pair(a, b_changed, c))
    assert update_baseline(run, path) == (2, 1, 1)
    entries = {e.case: e for e in load_baseline(path)}
    assert entries["org-1"].reason == "trimmed on purpose"
    assert entries["org-2"].reason == DEFAULT_REASON
    assert entries["org-2"].diff == fingerprint(b_changed)
    assert entries["org-3"].reason == DEFAULT_REASON

    fixed = _run(_pair(case("issue.list", "org-1"), b_changed, case("issue.list", "org-3")))
    assert update_baseline(fixed, path) == (0, 1, 2)
    assert [e.case for e in load_baseline(path)] == ["org-2"]


def test_update_keeps_entries_of_pairs_not_run(tmp_path: Path) -> None:
    path = tmp_path / "harness-baseline.json"
    update_baseline(_run(_pair(error_case(), name="machine.list")), path, reason="driver bug")
    only_issue = _run(_pair(mismatch_case()))
    assert update_baseline(only_issue, path, reason="x") == (1, 0, 0)
    assert {e.pair: e.reason for e in load_baseline(path)} == {
        "machine.list": "driver bug",
        "issue.list": "x",
    }


def test_update_writes_a_stable_sorted_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    run = sample_run()
    update_baseline(run, first)
    update_baseline(replace(run, pairs=tuple(reversed(run.pairs))), second)
    assert first.read_text(encoding="utf-8") == second.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".baseline-*"))  # no temporary file left behind
