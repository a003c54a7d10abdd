"""``results.json``: written atomically at the end of every run, read back by ``harness report``.

Its shape is CONTRACT section 4 (the records' ``to_json``); fields beyond it are additions. It is
strict JSON, which other tools parse: a float NaN or infinity (a side may return one) is written
as the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from harness.records import CaseResult, RunResult


def write_results(result: RunResult, path: Path, *, made: CaseTexts | None = None) -> Path:
    """Write ``results.json`` atomically (a reader never sees half a file).

    ``made`` holds case texts made ahead (:func:`case_text`, by ``--workers``' workers while
    the other cases ran): they are written as they are, which gives the bytes serializing them
    here would, without the serial cost at the end of a run.
    """
    write_atomic(path, [*_results_parts(result, made), "\n"])
    return path


_ENCODE = partial(json.dumps, indent=1, ensure_ascii=False, default=str, allow_nan=False)


def _dumps(value: Any) -> str:
    try:
        return _ENCODE(value)
    except ValueError:  # a non-finite float somewhere (rare): walk the value to name them
        return _ENCODE(strict_json(value))


# How deep a case's lines stand in results.json: in the run's "pairs", in a pair's "cases".
CASE_INDENT = " " * 4


def case_text(case: CaseResult) -> str:
    """One case's JSON as results.json holds it: each line after the first indented by
    :data:`CASE_INDENT`, as deep as a case stands there."""
    return _dumps(case.to_json()).replace("\n", "\n" + CASE_INDENT)


class CaseTexts:
    """Case results and their :func:`case_text`, made ahead; a case replaced since (a baseline
    marks it accepted) is not the object the text was made of and is serialized again."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[CaseResult, str]] = {}

    def add(self, case: CaseResult, text: str) -> None:
        self._by_id[id(case)] = (case, text)  # the case is held, so its id is not reused

    def get(self, case: CaseResult) -> str | None:
        entry = self._by_id.get(id(case))
        return entry[1] if entry is not None and entry[0] is case else None


def _results_parts(result: RunResult, made: CaseTexts | None) -> list[str]:
    """results.json's text (without the final newline) in parts, the texts made ahead among
    them as they are: joining them (4 MB at scale 10) would copy them all once more."""
    if made is None:
        return [_dumps(result.to_json())]
    # Each case made ahead is a unique mark in the document; the text replaces the mark,
    # its lines indented as deep as the mark stood (JSON escapes a newline in a string, so
    # every newline of a case's text is one of its own line breaks). That is CASE_INDENT
    # unless results.json's shape changed.
    mark = f"harness-case-{uuid.uuid4().hex}-"
    texts: list[str] = []

    def case_json(case: CaseResult) -> Any:
        text = made.get(case)
        if text is None:
            return case.to_json()
        texts.append(text)
        return f"{mark}{len(texts) - 1}"

    parts = re.split(f'"{mark}(\\d+)"', _dumps(result.to_json(case_json)))
    for i in range(1, len(parts), 2):
        before = parts[i - 1]
        indent = before[before.rfind("\n") + 1 :]
        text = texts[int(parts[i])]
        parts[i] = (
            text if indent == CASE_INDENT else text.replace("\n" + CASE_INDENT, "\n" + indent)
        )
    return parts


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


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its parts, one after the other) to ``path`` through a temporary file
    in the same folder and a rename.

    A reader sees the old file or the new one, never half of one; on any failure (a full disk,
    a file-size limit) the temporary file is removed and the error raised. The file gets the
    mode a plain ``open()`` would give it (0666 less the umask), not ``mkstemp``'s 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)
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
