"""The verdict of a case: two observations in, a :class:`~harness.records.CaseResult` out.

Equal, mismatch (with the diff a person can act on) or error; row changes of writing pairs are
compared after fresh values are matched; the tenant guard runs on both sides' values and row
changes, and a leak is a mismatch even when both sides agree.
"""

from __future__ import annotations

from dataclasses import replace

from harness.compare import fresh as row_changes
from harness.compare.depths import Depths
from harness.compare.tenancy import find_leaks
from harness.compare.verdict import compare
from harness.normalize.table import Table, materialize
from harness.records import CaseResult, Diff, Observation, SideSummary
from harness.registry import PlannedCase


def judge(
    planned: PlannedCase, legacy: Observation, new: Observation, order: tuple[str, str]
) -> CaseResult:
    """Compare two observations of a case into its :class:`CaseResult`."""
    pair = planned.pair
    case = planned.case
    error = legacy.error or new.error
    if legacy.error and new.error and order[0] == "new":
        error = new.error
    diff: Diff | None = None
    status = "error" if error else "equal"
    leaks: tuple[str, ...] = ()
    legacy_value, new_value = legacy.value, new.value
    legacy_changes = new_changes = None
    if not error:
        if pair.options.writes or legacy_value.__class__ is not new_value.__class__:
            # Row changes and mixed forms need canonical values; flat rows stay tables.
            legacy_value, new_value = materialize(legacy_value), materialize(new_value)
        if pair.options.writes:
            legacy_value, new_value, legacy_changes, new_changes = row_changes.match_fresh_values(
                legacy, new
            )
        # Walked once here for both the comparison's equal path and the tenant guard; not at
        # all when normalizing found flat tables (a hint only for the very value it returned).
        depths = (
            _depths(legacy_value, legacy.flat_bools if legacy_value is legacy.value else None),
            _depths(new_value, new.flat_bools if new_value is new.value else None),
        )
        comparison = compare(
            legacy_value,
            new_value,
            ordered=pair.options.ordered,
            ignore=pair.options.ignore,
            unordered=pair.options.unordered,
            float_tolerance=pair.options.float_tolerance,
            depths=None if depths[0] is None or depths[1] is None else (depths[0], depths[1]),
        )
        if pair.options.writes:
            comparison = row_changes.merge(
                comparison,
                compare(
                    legacy_changes,
                    new_changes,
                    ordered=True,
                    ignore=(),
                    float_tolerance=pair.options.float_tolerance,
                ),
            )
        if case.tenant_id is not None and pair.options.tenant_scoped:
            leaks = find_leaks(
                case.tenant_id,
                legacy=(depths[0] or legacy_value, legacy_changes),
                new=(depths[1] or new_value, new_changes),
            )
        if not comparison.equal:
            status, diff = "mismatch", comparison.diff
        if leaks:
            status = "mismatch"
            leak_line = f"tenant leak: {leaks[0]}" + (
                f" (+{len(leaks) - 1} more)" if len(leaks) > 1 else ""
            )
            diff = (
                Diff(summary=leak_line)
                if diff is None
                else replace(diff, summary=f"{leak_line}; {diff.summary}")
            )
    return CaseResult(
        pair=pair.name,
        label=planned.label,
        status=status,  # type: ignore[arg-type]
        tenant_id=case.tenant_id,
        user_id=case.user_id,
        params=dict(case.params),
        diff=diff,
        error=error,
        legacy=SideSummary.of(legacy, value=legacy_value, changes=legacy_changes),
        new=SideSummary.of(new, value=new_value, changes=new_changes),
        order=order,
        leaks=leaks,
    )


def _depths(value: object, flat_bools: bool | None) -> Depths | None:
    """The value's Depths for the equal path and the tenant guard (a Table has its own)."""
    return None if value.__class__ is Table else Depths.of(value, flat_bools)
