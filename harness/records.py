"""The records of a run and ``results.json``, the file CI scripts and the HTML report read.

Records are frozen dataclasses; dicts appear only at the JSON edge (``to_json``/``from_json``),
which is also how a case result travels from a pytest-xdist worker to the controller.
The file's shape is CONTRACT section 4; fields beyond it are additions, never changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal

from harness.normalize.table import Table

Status = Literal["equal", "expected", "mismatch", "error", "skipped"]
Side = Literal["legacy", "new"]  # the two sides of a pair; the word means nothing else here

STATUS_RANK = {"skipped": -1, "equal": 0, "expected": 1, "mismatch": 2, "error": 3}

# What a report keeps of one side's result: enough to read, never a 100 MB file.
MAX_RESULT_ROWS = 50
MAX_DIFF_ENTRIES = 200
MAX_STATEMENTS = 100


@dataclass(frozen=True)
class Statement:
    """One SQL statement a side sent, with its parameters (as text) and duration."""

    sql: str
    params: str
    ms: float

    def to_json(self) -> dict[str, Any]:
        return {"sql": self.sql, "params": self.params, "ms": self.ms}


# Statements that frame work rather than do it: the capture leaves them out, and the query budget
# applies the same rule to statements read back from a results file.
_CONTROL = re.compile(
    r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION|END)\b", re.IGNORECASE
)


def round_ms(ms: float) -> float:
    """A duration to the 4 decimals a record keeps, as ``round(ms, 4)`` but without its exact
    decimal conversion (a few times the cost, on every statement of every case)."""
    return round(ms * 10000.0) / 10000.0


def is_transaction_control(sql: str) -> bool:
    """True for BEGIN/COMMIT/ROLLBACK and savepoints: how an ORM frames work, not the work.

    The harness runs each side inside its own transaction, so an ORM's nested transaction shows
    up as savepoints on one side and not the other; counting them would fail a query budget for
    nothing a user could act on.
    """
    return _CONTROL.match(sql) is not None


@dataclass(frozen=True)
class SideError:
    """An exception raised by one side: which side, its type, message, the failing SQL."""

    side: Side
    type: str
    message: str
    sql: str | None = None
    traceback: str | None = None
    # The portable error category (harness.compare.categories); None for an exception of the
    # pair's own code, which is a bug to fix rather than behaviour to compare.
    category: str | None = None

    def __str__(self) -> str:
        where = f" (SQL: {self.sql})" if self.sql else ""
        return f"{self.side} side raised {self.type}: {self.message}{where}"

    def raised(self) -> dict[str, str | None]:
        """The ``raised`` block of a side's summary: category (None: the pair's own bug), type
        and message."""
        return {"category": self.category, "type": self.type, "message": self.message}


@dataclass(frozen=True)
class CaseWarning:
    """A warning on a case: one a side raised (``side`` set) or one the harness found."""

    category: str
    message: str
    where: str | None = None
    side: Side | None = None

    def __str__(self) -> str:
        who = f"{self.side} side: " if self.side else ""
        at = f" ({self.where})" if self.where else ""
        return f"{who}{self.category}: {self.message}{at}"


@dataclass(frozen=True)
class SchemaKeys:
    """The keys of the live schema that tell where a value comes from (read once per database).

    ``primary``: each table's primary-key columns; ``foreign``: per table, each foreign-key column
    and the table it references. A value is a fresh id only in a primary-key column of an
    inserted row, or in a column that references one.
    """

    primary: Mapping[str, tuple[str, ...]]
    foreign: Mapping[str, Mapping[str, str]]

    def generated(self, table: str) -> tuple[str, ...]:
        """The primary-key column of ``table`` a database generates: a single one, referencing
        nothing. A join table's key (``A``, ``B``) is made of references, never fresh."""
        key = self.primary.get(table, ())
        # A composite key is natural (a join table's references, a tag): no database makes it.
        return key if len(key) == 1 and key[0] not in self.foreign.get(table, {}) else ()


@dataclass(frozen=True)
class RowChanges:
    """A writing side's row changes in the watched tables, before they are normalized."""

    tables: Mapping[str, Mapping[str, list[Any]]]  # {table: {inserted, updated, deleted}}
    window: tuple[datetime, datetime]  # the side's run on the wall clock, aware UTC
    keys: SchemaKeys


@dataclass(frozen=True)
class Observation:
    """One side's run of one case: its normalized value or its error, statements and time."""

    side: Side
    value: Any = None
    error: SideError | None = None
    ms: float = 0.0
    statements: tuple[Statement, ...] = ()
    changes: RowChanges | None = None  # row changes in the watched tables (writing pairs)
    flat_bools: bool | None = None  # what normalize_rows() told of ``value`` (not recorded)
    warnings: tuple[CaseWarning, ...] = ()  # Python warnings the side raised

    @property
    def queries(self) -> int:
        return len(self.statements)


@dataclass(frozen=True)
class Change:
    """One differing path: ``kind`` is changed, added (only new has it) or removed (only legacy)."""

    path: str
    kind: str
    legacy: Any = None
    new: Any = None


@dataclass(frozen=True)
class RowCount:
    """A row found on one side only (unordered comparison), and how many times more it came back."""

    row: Any
    count: int


@dataclass(frozen=True)
class Diff:
    """Why two results differ, in terms a person can act on."""

    summary: str
    changes: tuple[Change, ...] = ()
    only_legacy: tuple[RowCount, ...] = ()
    only_new: tuple[RowCount, ...] = ()
    reordered: bool = False
    truncated: int = 0  # entries left out of the lists above

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diff:
        return cls(
            summary=data["summary"],
            changes=tuple(Change(**c) for c in data.get("changes", ())),
            only_legacy=tuple(RowCount(**r) for r in data.get("only_legacy", ())),
            only_new=tuple(RowCount(**r) for r in data.get("only_new", ())),
            reordered=data.get("reordered", False),
            truncated=data.get("truncated", 0),
        )


@dataclass(frozen=True)
class Comparison:
    """The verdict on two normalized results."""

    equal: bool
    diff: Diff | None = None


class Later:
    """A field value to make when it is first read (see :class:`MadeWhenRead`)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class MadeWhenRead:
    """A dataclass field that may be given a :class:`Later`: made on its first read, then kept.

    The value lives in the instance ``__dict__`` under the field's name (a data descriptor is
    asked first), so equality, ``repr``, ``replace`` and ``to_json`` read the made value as they
    would any field's. The default is None.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None
        value = obj.__dict__[self.name]
        if value.__class__ is Later:
            value = obj.__dict__[self.name] = value.make()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


@dataclass(frozen=True)
class SideSummary:
    """What results.json keeps of one side of a case.

    A result kept as a :class:`~harness.normalize.table.Table` (most cases are equal, and the
    comparison read its raw columns) has its report rows made when ``result`` is first read:
    writing results.json or the report, never in the run of the case.
    """

    queries: int = 0
    ms: float = 0.0
    statements: tuple[Statement, ...] = ()
    result: Any = MadeWhenRead()
    result_rows: int | None = None  # the full length when ``result`` is a cut list
    changes: Any = None
    raised: Mapping[str, str | None] | None = None  # the error this side raised

    @classmethod
    def of(cls, obs: Observation, *, value: Any, changes: Any) -> SideSummary:
        """What to keep of ``obs``, with its result and row changes as they were compared."""
        value, total = _cut(value)
        return cls(
            queries=obs.queries,
            ms=round_ms(obs.ms),
            statements=obs.statements[:MAX_STATEMENTS],
            result=value,
            result_rows=total,
            changes=changes,
            raised=obs.error.raised() if obs.error is not None else None,
        )

    def __getstate__(self) -> dict[str, Any]:
        """The fields, ``result`` made: what makes it later (a Table's converters) does not pickle."""
        return {**self.__dict__, "result": self.result}

    def to_json(self) -> dict[str, Any]:
        """The side's JSON; ``result`` and ``changes`` as they are (canonical data, not copied)."""
        data = {
            "queries": self.queries,
            "ms": self.ms,
            "statements": [s.to_json() for s in self.statements],
            "result": self.result,
            "result_rows": self.result_rows,
            "changes": self.changes,
        }
        if self.raised is not None:  # only a side that raised carries it
            data["raised"] = dict(self.raised)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SideSummary:
        return cls(
            queries=data.get("queries", 0),
            ms=data.get("ms", 0.0),
            statements=tuple(Statement(**s) for s in data.get("statements", ())),
            result=data.get("result"),
            result_rows=data.get("result_rows"),
            changes=data.get("changes"),
            raised=data.get("raised"),
        )


def _cut(value: Any) -> tuple[Any, int | None]:
    if value.__class__ is Table:  # a flat result kept raw: only the rows kept are made, later
        total = len(value)
        return _head(value, MAX_RESULT_ROWS), (total if total > MAX_RESULT_ROWS else None)
    if isinstance(value, list) and len(value) > MAX_RESULT_ROWS:
        return value[:MAX_RESULT_ROWS], len(value)
    return value, None


def _head(table: Table, count: int) -> Later:
    """The first ``count`` canonical rows of ``table``, made when read: by the Table itself when
    it holds no more rows, else by a Table of those rows' raw values, so that a summary never
    holds a whole large result."""
    if len(table) <= count:
        return Later(partial(table.head, count))
    kept = Table(
        names=table.names,
        rows=None,
        columns=[column[:count] for column in table.columns],
        founds=table.founds,
        converters=table.converters,
        modes=table.modes,
        build=table.build,
    )
    return Later(kept.rows)


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one pair on one case."""

    pair: str
    label: str
    status: Status
    tenant_id: str | None = None
    user_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    diff: Diff | None = None
    error: SideError | None = None
    legacy: SideSummary = field(default_factory=SideSummary)
    new: SideSummary = field(default_factory=SideSummary)
    order: tuple[str, ...] = ("legacy", "new")
    leaks: tuple[str, ...] = ()  # tenant-guard findings: rows of another organization
    accepted: str | None = None  # the baseline's reason when this difference is accepted
    expected: str | None = None  # the pair's expect= reason when this case was declared to differ
    warnings: tuple[CaseWarning, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "pair": self.pair,
            "label": self.label,
            "tenant_id": self.tenant_id,
            "user_id": self.user_id,
            "params": dict(self.params),
            "status": self.status,
            "diff": self.diff.to_json() if self.diff else None,
            "error": asdict(self.error) if self.error else None,
            "legacy": self.legacy.to_json(),
            "new": self.new.to_json(),
            "order": list(self.order),
            "leaks": list(self.leaks),
            "accepted": self.accepted,
            "expected": self.expected,
            "warnings": [asdict(w) for w in self.warnings],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], pair: str | None = None) -> CaseResult:
        return cls(
            pair=data.get("pair", pair or ""),
            label=data["label"],
            status=data["status"],
            tenant_id=data.get("tenant_id"),
            user_id=data.get("user_id"),
            params=data.get("params") or {},
            diff=Diff.from_json(data["diff"]) if data.get("diff") else None,
            error=SideError(**data["error"]) if data.get("error") else None,
            legacy=SideSummary.from_json(data.get("legacy") or {}),
            new=SideSummary.from_json(data.get("new") or {}),
            order=tuple(data.get("order") or ("legacy", "new")),
            leaks=tuple(data.get("leaks") or ()),
            accepted=data.get("accepted"),
            expected=data.get("expected"),
            warnings=tuple(CaseWarning(**w) for w in data.get("warnings") or ()),
        )

    @property
    def reason(self) -> str:
        """Why this case is not equal, in one line (its status when it is): the error, else the diff.

        The one wording of a case's failure: the pytest item's failure text, the console's list
        of failing cases and the baseline's summary all use it.
        """
        if self.error:
            text = str(self.error)
        elif self.diff:
            text = self.diff.summary
        else:
            text = self.status
        if self.status == "expected":
            text = f"expected to differ ({self.expected}): {text}"
        return " ".join(text.split())

    @property
    def fails(self) -> bool:
        """True when this case breaks equivalence and no baseline entry accepts it."""
        return self.status in ("mismatch", "error") and self.accepted is None


@dataclass(frozen=True)
class Latency:
    """Paired latency of a pair: medians and p95 per side, the ratio new/legacy and its 95% CI."""

    legacy_p50_ms: float
    new_p50_ms: float
    ratio: float
    legacy_p95_ms: float | None = None
    new_p95_ms: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    rounds: int = 0
    method: str = "interleaved"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Violation:
    """A gate rule a pair broke besides equivalence (latency, query budget)."""

    rule: str
    message: str


@dataclass(frozen=True)
class PairResult:
    """The outcome of one pair over all its cases."""

    name: str
    router: str
    gate: bool
    cases: tuple[CaseResult, ...]
    latency: Latency | None = None
    violations: tuple[Violation, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    skipped_reason: str | None = None

    @property
    def status(self) -> Status:
        if not self.cases:
            return "skipped"
        worst = max(self.cases, key=lambda c: STATUS_RANK[c.status])
        return worst.status

    @property
    def errored(self) -> bool:
        """A case of this pair errored: its timings compare nothing, so no ratio is shown."""
        return any(c.status == "error" for c in self.cases)

    @property
    def fails_gate(self) -> bool:
        return self.gate and (any(c.fails for c in self.cases) or bool(self.violations))

    def to_json(self, case_json: Callable[[CaseResult], Any] | None = None) -> dict[str, Any]:
        """``case_json`` stands in for :meth:`CaseResult.to_json` (results.json's writer passes
        one that leaves a mark where a case's text was made ahead)."""
        return {
            "name": self.name,
            "router": self.router,
            "gate": self.gate,
            "status": self.status,
            "cases": [c.to_json() if case_json is None else case_json(c) for c in self.cases],
            "latency": self.latency.to_json() if self.latency else None,
            "violations": [asdict(v) for v in self.violations],
            "options": dict(self.options),
            "skipped_reason": self.skipped_reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairResult:
        lat = data.get("latency")
        return cls(
            name=data["name"],
            router=data["router"],
            gate=data.get("gate", True),
            cases=tuple(CaseResult.from_json(c, data["name"]) for c in data.get("cases", ())),
            latency=Latency(**lat) if lat else None,
            violations=tuple(Violation(**v) for v in data.get("violations", ())),
            options=data.get("options") or {},
            skipped_reason=data.get("skipped_reason"),
        )


@dataclass(frozen=True)
class RunResult:
    """A whole run: what ran where, and every pair's result."""

    harness_version: str
    dialect: str
    url: str  # always with the password masked
    pairs: tuple[PairResult, ...]
    run: Mapping[str, Any] = field(default_factory=dict)  # seed, side order seed, sizes, timings
    gate_reasons: tuple[str, ...] = ()  # run-level reasons the gate failed (stale baseline, ...)
    baseline: Mapping[str, Any] | None = None

    @property
    def gate_passed(self) -> bool:
        return not self.gate_reasons and not any(p.fails_gate for p in self.pairs)

    def summary(self) -> dict[str, Any]:
        counts = {"equal": 0, "mismatch": 0, "error": 0, "skipped": 0, "expected": 0}
        for p in self.pairs:
            counts[p.status] += 1
        warnings = sum(len(c.warnings) for p in self.pairs for c in p.cases)
        return {
            "pairs": len(self.pairs),
            **counts,
            "warnings": warnings,
            "gate": "pass" if self.gate_passed else "fail",
        }

    def to_json(self, case_json: Callable[[CaseResult], Any] | None = None) -> dict[str, Any]:
        return {
            "harness_version": self.harness_version,
            "database": {"dialect": self.dialect, "url": self.url},
            "summary": self.summary(),
            "pairs": [p.to_json(case_json) for p in self.pairs],
            "run": dict(self.run),
            "gate_reasons": list(self.gate_reasons),
            "baseline": dict(self.baseline) if self.baseline is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            harness_version=data.get("harness_version", "?"),
            dialect=data["database"]["dialect"],
            url=data["database"]["url"],
            pairs=tuple(PairResult.from_json(p) for p in data.get("pairs", ())),
            run=data.get("run") or {},
            gate_reasons=tuple(data.get("gate_reasons") or ()),
            baseline=data.get("baseline"),
        )
