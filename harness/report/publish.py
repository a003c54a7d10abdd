"""Publishing a run: results.json first (the contract), then the HTML report.

As laboratory guards ``publish``, drawing the report never changes the verdict: results.json is
written first and atomically; a report that cannot be drawn is one line on stderr, its stale
predecessor is removed (so an older run's page never looks current), and the run's exit status
stays the gate's. Only a results file that cannot be written stops the run (exit 2), because CI
scripts read it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.records import RunResult
from harness.report.results_file import CaseTexts, write_results


@dataclass(frozen=True)
class Published:
    """Where a run's outputs went; ``report`` is None when the HTML could not be drawn."""

    results: Path
    report: Path | None
    problem: str | None = None


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def publish(
    result: RunResult,
    out_dir: Path,
    *,
    warn: Callable[[str], None] = _stderr,
    made: CaseTexts | None = None,
) -> Published:
    """Write ``out_dir/results.json`` and ``out_dir/index.html`` for ``result``.

    A file that cannot be written (a read-only folder, a full disk) is a :class:`HarnessError`
    (one line, exit 2), and the older run's files are removed first, so that they never pass
    for this run's. ``made`` holds case texts made ahead (see :func:`write_results`).
    """
    results = out_dir / "results.json"
    try:
        write_results(result, results, made=made)
    except OSError as exc:
        _remove_stale(out_dir)
        raise _cannot_write(results, exc) from exc
    try:
        from harness.report.html import render_report

        report = render_report(result, out_dir=out_dir)
    except OSError as exc:
        (out_dir / "index.html").unlink(missing_ok=True)
        raise _cannot_write(out_dir / "index.html", exc) from exc
    except Exception as exc:  # any failure of drawing: the verdict must not depend on it
        stale = out_dir / "index.html"
        stale.unlink(missing_ok=True)
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        warn(f"harness: the HTML report could not be drawn ({problem}); {results} is complete")
        return Published(results=results, report=None, problem=problem)
    return Published(results=results, report=report)


def check_writable(out_dir: Path) -> None:
    """Fail now, before any case runs, when ``out_dir`` cannot take the report files.

    A folder that does not exist yet is not made here (a session that selects no pair writes
    nothing): its nearest existing parent must take a new folder.
    """
    probe: Path | None = None
    folder = out_dir
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(folder))
        if folder == out_dir:
            fd, name = tempfile.mkstemp(prefix=".harness-probe-", dir=out_dir)
            probe = Path(name)
            os.close(fd)
        else:
            probe = Path(tempfile.mkdtemp(prefix=".harness-probe-", dir=folder))
    except OSError as exc:
        raise HarnessError(
            f"--report-dir {out_dir}: cannot write there ({exc.strerror or exc}); "
            "give a writable folder"
        ) from exc
    finally:
        if probe is not None:
            if probe.is_dir():
                probe.rmdir()
            else:
                probe.unlink(missing_ok=True)


def _remove_stale(out_dir: Path) -> None:
    for name in ("results.json", "index.html"):
        with contextlib.suppress(OSError):
            (out_dir / name).unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError) -> HarnessError:
    return HarnessError(
        f"cannot write {path} ({exc.strerror or exc}); the older report there was removed; "
        "free disk space or give a writable --report-dir"
    )
