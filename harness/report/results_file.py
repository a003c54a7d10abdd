"""``results.json``: written atomically at the end of every run, read back by ``harness report``.

Its shape is CONTRACT section 4 (the records' ``to_json``); fields beyond it are additions.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from harness.records import RunResult


def write_results(result: RunResult, path: Path) -> Path:
    """Write ``results.json`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(result.to_json(), fh, indent=1, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def read_results(path: Path) -> RunResult:
    """Read a results file written by any run; a clear error names a file that is not one."""
    from harness.errors import HarnessError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunResult.from_json(data)
    except FileNotFoundError as exc:
        raise HarnessError(f"{path}: no such results file; run `harness run` first") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(
            f"{path}: not a harness results file ({type(exc).__name__}: {exc})"
        ) from exc
