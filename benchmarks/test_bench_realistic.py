"""Performance goals on realistic data (``realistic.py``), each next to its reference in one run.

Run them with benchmarks on (the project's addopts turn them off)::

    python -m pytest benchmarks/test_bench_realistic.py --benchmark-enable -p no:cacheprovider -s

100k rows x 10 columns (``Decimal``, naive and aware ``datetime``, ``date``, float, ``UUID``,
JSON, bool, None, text), unordered, as dicts, tuples and ORM instances (peewee on the legacy
side and SQLAlchemy on the new, as in a migration), equal and with 100 differing rows.

Goals (checked by ``test_goals`` at the end, from the medians measured above it):

- normalize + compare (as a run does it) of two equal results: at most 0.4 s, and at least 50x
  faster than ``DeepDiff(ignore_order=True)`` on the same data (the dict rows);
- the same with 100 differing rows, fully explained: at least 50x faster than DeepDiff;
- end to end, a case of a pair whose sides return those rows (run_case on a real SQLite target:
  the two rolled-back transactions, statement capture, normalize, compare, the tenant guard, the
  summary kept for the report) minus the sides' own time: within 1.5x of normalize + compare
  alone on the same rows.

The DeepDiff references run once (``rounds=1``): about a minute each on this machine.
"""

from __future__ import annotations

from statistics import median
from typing import Any

import pytest
from deepdiff import DeepDiff
from realistic import as_shape, differing, row, shuffled

from harness.compare.verdict import compare
from harness.normalize.walk import normalize_rows

BIG = 100_000
DIFFERING = 100
EQUAL_GOAL_S = 0.4
DEEPDIFF_GOAL_RATIO = 50.0
END_TO_END_GOAL_RATIO = 1.5
SHAPES = {  # legacy side, new side
    "dicts": ("dicts", "dicts"),
    "tuples": ("tuples", "tuples"),
    "instances": ("peewee", "sqlalchemy"),
}

MEDIANS: dict[str, float] = {}


def normalize_and_compare(legacy: Any, new: Any) -> Any:
    """What a case does between the sides and the verdict: normalize each side, compare."""
    left = normalize_rows(legacy, lazy=True)[0]
    right = normalize_rows(new, lazy=True)[0]
    return compare(left, right, ordered=False)


def record(benchmark: Any, name: str) -> None:
    if benchmark.stats is not None:
        MEDIANS[name] = benchmark.stats.stats.median


def skip_without_timing(benchmark: Any) -> None:
    if benchmark.disabled:
        pytest.skip("DeepDiff references run only with timing on; pass --benchmark-enable")


@pytest.fixture(scope="module")
def legacy_rows() -> list[dict[str, Any]]:
    return [row(i) for i in range(BIG)]


@pytest.fixture(scope="module")
def equal_rows() -> list[dict[str, Any]]:
    return [row(i) for i in shuffled(BIG)]


@pytest.fixture(scope="module")
def differing_rows() -> list[dict[str, Any]]:
    return differing(BIG, DIFFERING)


@pytest.fixture(scope="module")
def sides(legacy_rows: Any, equal_rows: Any, differing_rows: Any) -> dict[tuple[str, str], Any]:
    """(shape, equal|differing) -> (legacy side result, new side result)."""
    out = {}
    for shape, (legacy_shape, new_shape) in SHAPES.items():
        legacy = as_shape(legacy_rows, legacy_shape)
        out[(shape, "equal")] = (legacy, as_shape(equal_rows, new_shape))
        out[(shape, "differing")] = (legacy, as_shape(differing_rows, new_shape))
    return out


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("variant", ["equal", "differing"])
def test_normalize_and_compare(benchmark: Any, sides: Any, shape: str, variant: str) -> None:
    legacy, new = sides[(shape, variant)]
    benchmark.group = f"100k realistic rows, {variant}"
    result = benchmark(normalize_and_compare, legacy, new)
    if variant == "equal":
        assert result.equal, result.diff
    else:
        assert not result.equal and result.diff is not None
        diff = result.diff
        if shape == "tuples":  # rows without names: nothing to pair them by, so all are listed
            assert len(diff.only_legacy) == len(diff.only_new) == DIFFERING
        else:
            assert len(diff.changes) == DIFFERING - DIFFERING // 5
            assert len(diff.only_legacy) == len(diff.only_new) == DIFFERING // 5
    record(benchmark, f"{variant}-{shape}")


@pytest.mark.parametrize("variant", ["equal", "differing"])
def test_deepdiff_reference(benchmark: Any, sides: Any, variant: str) -> None:
    skip_without_timing(benchmark)
    legacy, new = sides[("dicts", variant)]
    benchmark.group = f"100k realistic rows, {variant}"
    result = benchmark.pedantic(
        DeepDiff, args=(legacy, new), kwargs={"ignore_order": True}, rounds=1, iterations=1
    )
    assert bool(result) == (variant == "differing")
    record(benchmark, f"{variant}-deepdiff")


@pytest.mark.parametrize("variant", ["equal", "differing"])
def test_end_to_end_case(benchmark: Any, sides: Any, variant: str) -> None:
    """A case of a pair whose sides return the rows (peewee vs SQLAlchemy instances), run as a
    run runs it on a real SQLite target; the harness's share is the case minus the sides."""
    from harness.database.scratch import open_target
    from harness.registry import Case, Pair, PairOptions, PlannedCase
    from harness.run.sides import run_case

    legacy, new = sides[("instances", variant)]
    p = Pair("issue.realistic", PairOptions(router="issue"), __file__)
    p.legacy(lambda ctx: legacy)
    p.new(lambda ctx: new)
    planned = PlannedCase(pair=p, label="100k", case=Case(tenant_id="org-1"))
    shares: list[float] = []
    benchmark.group = f"100k realistic rows, {variant}"
    with open_target(None) as target:

        def one_case() -> Any:
            result = run_case(planned, target, order_seed=0)
            shares.append((result.legacy.ms + result.new.ms) / 1000.0)
            return result

        result = benchmark.pedantic(one_case, rounds=5, iterations=1, warmup_rounds=1)
    assert result.status == ("equal" if variant == "equal" else "mismatch"), result.diff
    if benchmark.stats is not None:
        cases = list(benchmark.stats.stats.data)
        sides_s = shares[-len(cases) :]
        MEDIANS[f"{variant}-end-to-end"] = median(
            c - s for c, s in zip(cases, sides_s, strict=True)
        )


def test_goals(capsys: pytest.CaptureFixture[str]) -> None:
    """The goals, from the medians above (skipped unless every benchmark ran with timing)."""
    needed = [f"{v}-{s}" for v in ("equal", "differing") for s in (*SHAPES, "deepdiff")]
    needed += ["equal-end-to-end", "differing-end-to-end"]
    if not all(name in MEDIANS for name in needed):
        pytest.skip("the benchmarks did not run with timing; pass --benchmark-enable")
    lines = [f"{name:>24}: {seconds * 1000:10.1f} ms" for name, seconds in MEDIANS.items()]
    failures = []
    for variant in ("equal", "differing"):
        reference = MEDIANS[f"{variant}-deepdiff"]
        for shape in SHAPES:
            ours = MEDIANS[f"{variant}-{shape}"]
            ratio = reference / ours
            lines.append(f"{f'{variant} {shape}, DeepDiff / ours':>40}: {ratio:8.0f}x")
            if ratio < DEEPDIFF_GOAL_RATIO:
                failures.append(f"{variant} {shape}: {ratio:.0f}x DeepDiff")
            if variant == "equal" and ours > EQUAL_GOAL_S:
                failures.append(f"{variant} {shape}: {ours:.3f} s")
        alone = MEDIANS[f"{variant}-instances"]
        whole = MEDIANS[f"{variant}-end-to-end"]
        lines.append(f"{f'{variant} end to end / alone':>40}: {whole / alone:8.2f}x")
        if whole > END_TO_END_GOAL_RATIO * alone:
            failures.append(f"{variant} end to end: {whole / alone:.2f}x normalize+compare")
    with capsys.disabled():
        print("\nrealistic 100k rows, medians:")
        for line in lines:
            print("  " + line)
    assert not failures, "; ".join(failures) + "\n" + "\n".join(lines)
