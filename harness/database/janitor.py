"""The janitor: scratch databases and temporary folders whose run is gone are removed.

Every scratch database is marked with its owner when it is created: the host, the process id,
the process's start time and its PID namespace, written as the database's comment (PostgreSQL
``COMMENT ON DATABASE``, MariaDB's ``CREATE DATABASE … COMMENT``). A temporary folder gets the
same mark in a ``.harness-owner`` file. :func:`sweep_server` and :func:`sweep_temp` (``harness
clean``, and every run before it starts) drop only what

- carries a harness owner mark (a database the harness did not create never has one),
- was made on this host, in this PID namespace (another machine's or container's run cannot be
  judged from here, so it is left alone),
- and whose owner process is gone: no such process, or one started at another time (a reused
  process id).

A database kept on purpose (``--keep-db``, ``harness seed``) is re-marked as kept, and left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

MARK = "harness scratch database; owner "
KEPT = "harness scratch database; kept on purpose, never cleaned"
OWNER_FILE = ".harness-owner"
TEMP_PREFIX = "harness-"
SCRATCH_NAME = re.compile(r"^harness_[0-9a-f]{8}(_[a-z0-9_]+)?$")
_START_SLACK_S = 2.0  # process start times are read in clock ticks


@dataclass(frozen=True)
class Owner:
    """The process that made a scratch database or folder."""

    host: str
    pidns: int
    pid: int
    started: float  # the process's start, seconds since the epoch

    @classmethod
    def current(cls) -> Owner:
        started = _started()
        assert started is not None  # this process exists
        return cls(host=socket.gethostname(), pidns=_pidns(), pid=os.getpid(), started=started)

    def local(self) -> bool:
        """True when this process can tell whether the owner lives (same host, same PIDs)."""
        return self.host == socket.gethostname() and self.pidns == _pidns()

    def gone(self) -> bool:
        """True only when the owner is surely gone: local, and no process of its id and start."""
        if not self.local():
            return False
        started = _started(self.pid)
        return started is None or abs(started - self.started) > _START_SLACK_S

    def mark(self) -> str:
        return MARK + json.dumps(asdict(self), sort_keys=True)


def parse_mark(text: str | None) -> Owner | None:
    """The owner a mark names; None for no mark, a kept database, or text of anyone else."""
    if not text or not text.startswith(MARK):
        return None
    try:
        data = json.loads(text[len(MARK) :])
        return Owner(
            str(data["host"]), int(data["pidns"]), int(data["pid"]), float(data["started"])
        )
    except (ValueError, KeyError, TypeError):
        return None


@cache
def _pidns() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _started(pid: int | None = None) -> float | None:
    """When process ``pid`` (default: this one) started, from /proc; None when it does not exist."""
    pid = pid or os.getpid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if pid == os.getpid():
            return _own_start()
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return float("nan")  # alive, start unknown: never judged gone
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return _boot_time() + ticks / os.sysconf("SC_CLK_TCK")


@cache
def _own_start() -> float:
    return time.time()


@cache
def _boot_time() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


# --- databases on a server -------------------------------------------------------------------


def create_sql(dialect: str, name: str, owner: Owner, *, template: str | None = None) -> list[str]:
    """CREATE DATABASE for ``name``, marked with ``owner`` (one or two statements).

    ``template`` (PostgreSQL): a database to copy, schema and rows (a worker's clone).
    """
    mark = _quote(owner.mark())
    if dialect == "postgresql":
        source = f'"{template}"' if template else "template0"
        return [
            f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE {source}",
            f'COMMENT ON DATABASE "{name}" IS {mark}',
        ]
    return [f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COMMENT {mark}"]


def keep_sql(dialect: str, name: str) -> str:
    """Re-mark ``name`` as kept on purpose: no janitor will drop it."""
    if dialect == "postgresql":
        return f'COMMENT ON DATABASE "{name}" IS {_quote(KEPT)}'
    return f"ALTER DATABASE `{name}` COMMENT {_quote(KEPT)}"


def drop_sql(dialect: str, name: str) -> str:
    if dialect == "postgresql":
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    return f"DROP DATABASE IF EXISTS `{name}`"


def _quote(text: str) -> str:
    # Host names hold no quotes or backslashes; drop backslashes so both servers read it alike.
    return "'" + text.replace("\\", "").replace("'", "''") + "'"


def list_sql(dialect: str) -> str:
    """The harness-named databases on the server with their comments."""
    if dialect == "postgresql":
        return (
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname ~ '^harness_'"
        )
    return (
        "SELECT SCHEMA_NAME, SCHEMA_COMMENT FROM information_schema.SCHEMATA "
        "WHERE SCHEMA_NAME REGEXP '^harness_'"
    )


@dataclass(frozen=True)
class Sweep:
    """What a sweep found: dropped (owner gone) and left (owner alive or not judged here)."""

    dropped: tuple[str, ...] = ()
    left: tuple[str, ...] = ()


def orphans(rows: list[tuple[Any, Any]]) -> Sweep:
    """From ``(name, comment)`` rows: the scratch databases to drop, and those left alone."""
    dropped: list[str] = []
    left: list[str] = []
    for name, comment in rows:
        owner = parse_mark(comment)
        if not SCRATCH_NAME.match(str(name)) or owner is None:
            continue  # not ours, or kept on purpose
        (dropped if owner.gone() else left).append(str(name))
    return Sweep(tuple(sorted(dropped)), tuple(sorted(left)))


# --- temporary folders -----------------------------------------------------------------------


def make_temp_dir() -> Path:
    """A fresh temporary folder, marked with its owner."""
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    (path / OWNER_FILE).write_text(Owner.current().mark(), encoding="utf-8")
    return path


def sweep_temp(root: Path | None = None) -> Sweep:
    """Remove the marked temporary folders whose owner is gone."""
    root = Path(root or tempfile.gettempdir())
    dropped: list[str] = []
    left: list[str] = []
    for mark_file in sorted(root.glob(f"{TEMP_PREFIX}*/{OWNER_FILE}")):
        try:
            owner = parse_mark(mark_file.read_text(encoding="utf-8"))
        except OSError:
            continue
        if owner is None:
            continue
        folder = mark_file.parent
        if owner.gone():
            shutil.rmtree(folder, ignore_errors=True)
            dropped.append(str(folder))
        else:
            left.append(str(folder))
    return Sweep(tuple(dropped), tuple(left))
