"""MySQL/MariaDB errors are classified by error number, before the coarse SQLSTATE.

PyMySQL 1.2 sets ``sqlstate`` on its exceptions, and MySQL reports ``23000`` for every integrity
violation: the error number says which one.
"""

from __future__ import annotations

import pytest

from harness.compare.categories import classify


@pytest.mark.parametrize(
    ("errno", "sqlstate", "category"),
    [
        (1062, "23000", "unique_violation"),
        (1452, "23000", "foreign_key_violation"),
        (1048, "23000", "not_null_violation"),
        (4025, "23000", "check_violation"),
        (1213, "40001", "deadlock_or_serialization"),
        (1999, "HY000", "other"),
    ],
)
def test_mysql_errno_decides_over_the_sqlstate(errno: int, sqlstate: str, category: str) -> None:
    pymysql = pytest.importorskip("pymysql")
    exc = pymysql.err.IntegrityError(errno, "message")
    exc.sqlstate = sqlstate  # as PyMySQL >= 1.2 raises it
    assert classify(exc) == category


def test_a_statement_mysql_cannot_run_has_no_category() -> None:
    pymysql = pytest.importorskip("pymysql")
    exc = pymysql.err.ProgrammingError(1146, "Table 'x' doesn't exist")
    exc.sqlstate = "42S02"
    assert classify(exc) is None
