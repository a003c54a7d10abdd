"""``results.json``: written atomically at the end of every run, read back by ``harness report``.

Its shape is CONTRACT section 4 (the records' ``to_json``); fields beyond it are additions. It is
strict JSON, which other tools parse: a float NaN or infinity (a side may return one) is written
as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from harness.records import RunResult


def write_results(result: RunResult, path: Path) -> Path:
    """Write ``results.json`` atomically (a reader never sees half a file)."""
    text = json.dumps(
        strict_json(result.to_json()), indent=1, ensure_ascii=False, default=str, allow_nan=False
    )
    write_atomic(path, text + "\n")
    return path


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its name, as JSON has no such numbers."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, never half of one; on any failure (a full disk,
    a file-size limit) the temporary file is removed and the error raised. The file gets the
    mode a plain ``open()`` would give it (0666 less the umask), not ``mkstemp``'s 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
