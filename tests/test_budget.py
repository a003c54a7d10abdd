"""The gate rules besides equivalence: query budgets with the N+1 statement named, and latency."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import peewee
import pytest
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from harness.gate.budget import check, query_count, repeated_statement, shorten_sql, statement_shape
from harness.records import CaseResult, Latency, SideError, SideSummary, Statement
from harness.registry import Case, Pair, PairOptions
from harness.settings import HarnessConfig

USER_BY_ID = (
    'SELECT "User".id, "User".name, "User".email, "User".bio FROM "User" WHERE "User".id = ?'
)


def make_pair(name: str = "issue.list", **options: Any) -> Pair:
    return Pair(name, PairOptions(router=name.split(".")[0], **options), "tests/test_budget.py")


def side(*sqls: str, params: Sequence[str] = ()) -> SideSummary:
    statements = tuple(
        Statement(sql=sql, params=params[i] if i < len(params) else "", ms=0.1)
        for i, sql in enumerate(sqls)
    )
    return SideSummary(queries=len(statements), statements=statements)


def n_plus_one(users: int) -> SideSummary:
    sqls = [
        'SELECT "Issue".id, "Issue"."createdById" FROM "Issue" WHERE "Issue"."organizationId" = ?'
    ]
    sqls += [USER_BY_ID] * users
    return side(*sqls, params=["('org-1',)", *(f"('user-{i}',)" for i in range(users))])


def result(
    label: str = "org-1", *, legacy: SideSummary, new: SideSummary, **kwargs: Any
) -> CaseResult:
    return CaseResult(
        pair="issue.list", label=label, status="equal", legacy=legacy, new=new, **kwargs
    )


def latency(ratio: float, low: float, high: float) -> Latency:
    return Latency(
        legacy_p50_ms=1.0, new_p50_ms=ratio, ratio=ratio, ratio_low=low, ratio_high=high, rounds=40
    )


# --- statement shapes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ('SELECT * FROM "User" WHERE id = ?', 'SELECT * FROM "User" WHERE id = ?'),
        ("SELECT * FROM t WHERE id = $1 AND n = %s", "SELECT * FROM t WHERE id = ? AND n = ?"),
        ("SELECT * FROM t WHERE a = %(a_1)s OR b = :b", "SELECT * FROM t WHERE a = ? OR b = ?"),
        (
            "SELECT * FROM t WHERE name = 'O''Brien' LIMIT 10",
            "SELECT * FROM t WHERE name = ? LIMIT ?",
        ),
        ("SELECT x::text FROM t1 AS anon_1", "SELECT x::text FROM t1 AS anon_1"),
        ("SELECT *\n  FROM t WHERE id IN (?, ?,  ?)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN (%s)", "SELECT * FROM t WHERE id IN (?)"),
    ],
)
def test_statement_shape_collapses_values_and_placeholders(sql: str, shape: str) -> None:
    assert statement_shape(sql) == shape


def test_repeated_statement_finds_the_most_repeated_shape() -> None:
    statements = [
        "BEGIN",
        "SELECT a FROM t WHERE id = 1",
        "SELECT b FROM u WHERE id = 1",
        "SELECT b FROM u WHERE id = 2",
        "SAVEPOINT sa_1",
        "SELECT b FROM u WHERE id = 3",
        "SAVEPOINT sa_2",
        "SAVEPOINT sa_3",
        "SAVEPOINT sa_4",
        "SAVEPOINT sa_5",
    ]
    assert repeated_statement(statements) == ("SELECT b FROM u WHERE id = ?", 3)
    assert repeated_statement([Statement("SELECT 1 FROM t WHERE a = 5", "", 0.1)] * 2) == (
        "SELECT ? FROM t WHERE a = ?",
        2,
    )


def test_repeated_statement_is_none_when_nothing_repeats() -> None:
    assert repeated_statement(["SELECT a FROM t", "SELECT b FROM t"]) is None
    assert repeated_statement([]) is None


def test_shorten_sql_elides_a_long_column_list() -> None:
    assert shorten_sql(USER_BY_ID) == 'SELECT ... FROM "User" WHERE "User".id = ?'
    assert shorten_sql("SELECT id FROM t") == "SELECT id FROM t"
    assert len(shorten_sql("SELECT id FROM t WHERE " + " AND ".join(["x = ?"] * 200))) == 240


# --- query rules ------------------------------------------------------------------------------


def test_max_query_ratio_names_the_case_and_the_repeated_statement() -> None:
    cases = [result(legacy=side("SELECT 1", "SELECT 2"), new=n_plus_one(22))]
    violations = check(make_pair(), cases, None, HarnessConfig(max_query_ratio=1.5))
    assert [v.rule for v in violations] == ["max_query_ratio"]
    message = violations[0].message
    assert message.startswith(
        "issue.list[org-1]: new side sent 23 statements, legacy 2 (max_query_ratio 1.5"
    )
    assert message.endswith('repeated 22x: SELECT ... FROM "User" WHERE "User".id = ?')


def test_max_query_ratio_counts_an_empty_legacy_side_as_one_statement() -> None:
    pair = make_pair(max_query_ratio=2.0)
    assert (
        check(
            pair, [result(legacy=side(), new=side("SELECT 1", "SELECT 2"))], None, HarnessConfig()
        )
        == []
    )
    over = check(
        pair,
        [result(legacy=side(), new=side("SELECT a FROM t", "SELECT b FROM u", "SELECT c FROM v"))],
        None,
        HarnessConfig(),
    )
    assert [v.rule for v in over] == ["max_query_ratio"]
    assert "repeated" not in over[0].message  # three different shapes: no N+1 to name


def test_max_queries_is_broken_by_any_case_over_the_limit() -> None:
    cases = [
        result("org-1", legacy=side("SELECT 1"), new=side("SELECT 1", "SELECT 2")),
        result("org-2", legacy=side("SELECT 1"), new=n_plus_one(4)),
        result("org-3", legacy=side("SELECT 1"), new=n_plus_one(3)),
    ]
    violations = check(make_pair(), cases, None, HarnessConfig(max_queries=3))
    assert [v.rule for v in violations] == ["max_queries"]
    message = violations[0].message
    assert message.startswith(
        "issue.list[org-2]: new side sent 5 statements, legacy 1 (max_queries 3"
    )
    assert "repeated 4x: SELECT ... FROM" in message
    assert message.endswith("(also in 1 other case: org-3)")


def test_rules_within_their_limits_pass() -> None:
    cases = [
        result(
            legacy=side("SELECT 1", "SELECT 2"),
            new=side("SELECT a FROM t", "SELECT b FROM u", "SELECT c FROM v"),
        )
    ]
    config = HarnessConfig(max_queries=3, max_query_ratio=1.5, max_latency_ratio=1.2)
    assert check(make_pair(), cases, latency(1.1, 1.0, 1.3), config) == []


def test_transaction_control_does_not_count_as_a_query() -> None:
    # The new side's Session opens a savepoint inside the recording; the legacy side has none.
    new = side("SAVEPOINT sa_savepoint_1", "SELECT a FROM t", "RELEASE SAVEPOINT sa_savepoint_1")
    cases = [result(legacy=side("SELECT a FROM t"), new=new)]
    assert query_count(cases[0].new) == 1
    assert check(make_pair(), cases, None, HarnessConfig(max_queries=1, max_query_ratio=1.0)) == []


def test_no_thresholds_means_no_rules() -> None:
    cases = [result(legacy=side("SELECT 1"), new=n_plus_one(50))]
    assert check(make_pair(), cases, latency(9.0, 8.0, 10.0), HarnessConfig()) == []


def test_a_pair_option_beats_the_global_setting_both_ways() -> None:
    cases = [result(legacy=side("SELECT 1"), new=n_plus_one(3))]  # 4 statements
    strict_global = HarnessConfig(max_queries=2, max_query_ratio=1.0)
    lenient_pair = make_pair(max_queries=10, max_query_ratio=5.0)
    assert check(lenient_pair, cases, None, strict_global) == []
    lenient_global = HarnessConfig(max_queries=10, max_query_ratio=5.0)
    strict_pair = make_pair(max_queries=2, max_query_ratio=1.0)
    violations = check(strict_pair, cases, None, lenient_global)
    assert [v.rule for v in violations] == ["max_queries", "max_query_ratio"]
    assert "max_queries 2 from the pair's options" in violations[0].message


def test_cases_that_raised_are_skipped() -> None:
    boom = SideError(side="new", type="RuntimeError", message="boom")
    raised = CaseResult(
        pair="issue.list",
        label="org-1",
        status="error",
        error=boom,
        legacy=side("SELECT 1"),
        new=n_plus_one(30),
    )
    cases = [raised]
    assert check(make_pair(), cases, None, HarnessConfig(max_queries=1, max_query_ratio=1.0)) == []
    equal = replace(cases[0], status="equal", error=None)
    assert (
        len(check(make_pair(), [equal], None, HarnessConfig(max_queries=1, max_query_ratio=1.0)))
        == 2
    )


def test_a_cut_statement_list_says_the_count_is_of_the_recorded_ones() -> None:
    new = n_plus_one(120)
    new = replace(new, statements=new.statements[:100])  # results.json keeps the first 100
    violations = check(
        make_pair(), [result(legacy=side("SELECT 1"), new=new)], None, HarnessConfig(max_queries=50)
    )
    assert "new side sent 121 statements" in violations[0].message
    assert "repeated 99x in the first 100 recorded:" in violations[0].message


# --- latency ----------------------------------------------------------------------------------


def test_latency_breaks_the_gate_only_when_the_whole_interval_is_above() -> None:
    config = HarnessConfig(max_latency_ratio=1.5)
    assert check(make_pair(), [], latency(1.8, 1.4, 2.2), config) == []  # could still be 1.4
    violations = check(make_pair(), [], latency(1.8, 1.6, 2.0), config)
    assert [v.rule for v in violations] == ["max_latency_ratio"]
    message = violations[0].message
    assert message.startswith(
        "issue.list: new side takes 1.80x the legacy time (95% CI 1.60-2.00, 40 rounds"
    )
    assert message.endswith("above max_latency_ratio 1.5 from the settings")


@pytest.mark.parametrize(
    ("surfaces", "source"),
    [
        ({"cli": {"max_latency_ratio": "1.5"}}, "from --max-latency-ratio"),
        ({"project": {"max_latency_ratio": 1.5}}, "from [tool.harness]"),
        (
            {"ini": {"max_latency_ratio": "1.5"}},
            "from the pytest ini key harness_max_latency_ratio",
        ),
    ],
)
def test_a_budget_message_names_where_the_setting_came_from(
    surfaces: dict[str, Any], source: str
) -> None:
    from harness.settings import resolve

    config = resolve(
        surfaces.get("cli", {}), ini=surfaces.get("ini"), project=surfaces.get("project")
    )
    violations = check(make_pair(), [], latency(1.8, 1.6, 2.0), config)
    assert violations[0].message.endswith(f"above max_latency_ratio 1.5 {source}")


def test_latency_threshold_of_the_pair_beats_the_global_one() -> None:
    lat = latency(1.8, 1.6, 2.0)
    assert (
        check(make_pair(max_latency_ratio=2.5), [], lat, HarnessConfig(max_latency_ratio=1.1)) == []
    )
    violations = check(
        make_pair(max_latency_ratio=1.2), [], lat, HarnessConfig(max_latency_ratio=3.0)
    )
    assert "max_latency_ratio 1.2 from the pair's options" in violations[0].message


def test_no_latency_measured_means_no_latency_rule() -> None:
    assert check(make_pair(), [], None, HarnessConfig(max_latency_ratio=1.0)) == []


def test_a_latency_without_an_interval_is_judged_on_its_ratio() -> None:
    bare = Latency(legacy_p50_ms=1.0, new_p50_ms=2.0, ratio=2.0)
    assert [v.rule for v in check(make_pair(), [], bare, HarnessConfig(max_latency_ratio=1.5))] == [
        "max_latency_ratio"
    ]


# --- a real N+1 on SQLite ---------------------------------------------------------------------


@pytest.fixture
def library() -> Iterator[Any]:
    """A SQLite target with authors and books, and the two ORMs' models of them."""
    from harness.database.scratch import open_target

    class Base(DeclarativeBase):
        pass

    class AuthorSA(Base):
        __tablename__ = "author"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    class BookSA(Base):
        __tablename__ = "book"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(50))
        author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
        author: Mapped[AuthorSA] = relationship(lazy="select")

    class AuthorPW(peewee.Model):
        name = peewee.CharField()

        class Meta:
            table_name = "author"

    class BookPW(peewee.Model):
        title = peewee.CharField()
        author = peewee.ForeignKeyField(AuthorPW, column_name="author_id")

        class Meta:
            table_name = "book"

    with open_target(None) as target:
        Base.metadata.create_all(target.engine)
        with Session(target.engine) as session:
            authors = [AuthorSA(id=i, name=f"author {i}") for i in range(1, 9)]
            session.add_all(authors)
            session.add_all(
                BookSA(id=i, title=f"book {i}", author=authors[i - 1]) for i in range(1, 9)
            )
            session.commit()
        yield (
            target,
            {"AuthorSA": AuthorSA, "BookSA": BookSA, "AuthorPW": AuthorPW, "BookPW": BookPW},
        )


def test_a_real_lazy_load_per_row_breaks_max_query_ratio_naming_the_repeated_select(
    library: Any,
) -> None:
    from sqlalchemy import select

    from harness.registry import PlannedCase
    from harness.run.sides import run_case

    target, models = library
    books = make_pair("book.list")

    @books.legacy
    def _legacy(ctx: Any) -> list[dict[str, Any]]:
        book, author = models["BookPW"], models["AuthorPW"]
        with ctx.db.bind_ctx([book, author]):
            query = book.select(book.title, author.name).join(author).order_by(book.id)
            return [{"title": row.title, "author": row.author.name} for row in query]

    @books.new
    def _new(ctx: Any) -> list[dict[str, Any]]:
        rows = ctx.session.scalars(select(models["BookSA"]).order_by(models["BookSA"].id)).all()
        return [{"title": b.title, "author": b.author.name} for b in rows]  # one SELECT per book

    planned = PlannedCase(pair=books, label="all", case=Case())
    outcome = run_case(planned, target, order_seed=0, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert outcome.status == "equal", outcome.diff or outcome.error
    assert query_count(outcome.legacy) == 1
    assert query_count(outcome.new) == 9  # the Session's SAVEPOINT is not a query

    violations = check(books, [outcome], None, HarnessConfig(max_query_ratio=1.5))
    assert [v.rule for v in violations] == ["max_query_ratio"]
    message = violations[0].message
    assert message.startswith(
        "book.list[all]: new side sent 9 statements, legacy 1 (max_query_ratio 1.5"
    )
    assert message.endswith(
        "repeated 8x: SELECT author.id, author.name FROM author WHERE author.id = ?"
    )
