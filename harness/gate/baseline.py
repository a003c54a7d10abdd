"""Accepted differences: a baseline file lets a team migrate router by router.

A case that mismatches or errors today can be *accepted*: the baseline file records the pair,
the case label, a fingerprint of the exact difference and the reason. A later run marks a case
whose difference still has that fingerprint as accepted (it no longer fails the gate) and
reports every entry gone *stale* (the difference disappeared or changed) as a gate failure, so
the file never hides a new difference nor outlives a fix.

The file (``harness-baseline.json`` at the project root unless ``--baseline PATH``)::

    {"harness_baseline": 1,
     "entries": [{"pair": "issue.list", "case": "org-1,limit=5", "diff": "sha256:…",
                  "summary": "2 values differ: [0].title, [2].resolvedAt",
                  "reason": "titles are trimmed on purpose (ADR-12)"}]}

Example::

    baseline = load_baseline(Path("harness-baseline.json"))
    result = apply_baseline(result, baseline)          # before the gate and the reports
    added, kept, removed = update_baseline(result, Path("harness-baseline.json"), reason=None)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from harness.canonical import canonical_json
from harness.errors import HarnessError
from harness.records import CaseResult, RunResult

BASELINE_FILE = "harness-baseline.json"
FORMAT_VERSION = 1
DEFAULT_REASON = "TODO: say why this difference is accepted"
_FIELDS = ("pair", "case", "diff", "reason")
_SUMMARY_CHARS = 500


@dataclass(frozen=True)
class StaleEntry:
    """A baseline entry that no longer matches this run, and why."""

    entry: str
    pair: str
    case: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"entry": self.entry, "pair": self.pair, "case": self.case, "why": self.why}


@dataclass(frozen=True)
class BaselineEntry:
    """One accepted difference: which case, its fingerprint, what it is and why it is fine."""

    pair: str
    case: str
    diff: str
    summary: str
    reason: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.pair, self.case)

    @property
    def name(self) -> str:
        """How messages name the entry: ``issue.list[org-1]``, like the pytest item id."""
        return f"{self.pair}[{self.case}]"

    def to_json(self) -> dict[str, str]:
        return {
            "pair": self.pair,
            "case": self.case,
            "diff": self.diff,
            "summary": self.summary,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Baseline:
    """The entries of one baseline file (none when the file does not exist)."""

    path: Path
    entries: tuple[BaselineEntry, ...] = ()
    exists: bool = False

    def get(self, pair: str, case: str) -> BaselineEntry | None:
        """The entry for ``pair``'s case ``case``, if any."""
        return self._index.get((pair, case))

    def accepts(self, case: CaseResult) -> str | None:
        """The reason of the entry that accepts ``case``'s exact difference, else None."""
        entry = self.get(case.pair, case.label)
        if entry is None or not _differs(case) or fingerprint(case) != entry.diff:
            return None
        return entry.reason

    @cached_property
    def _index(self) -> dict[tuple[str, str], BaselineEntry]:
        return {e.key: e for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[BaselineEntry]:
        return iter(self.entries)


def load_baseline(path: Path | str = BASELINE_FILE) -> Baseline:
    """Read a baseline file; a missing file is an empty baseline, a malformed one an error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Baseline(path=path)
    except OSError as exc:
        raise HarnessError(f"baseline {path}: cannot be read ({exc.strerror}); check it") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _malformed(path, f"not JSON ({exc})") from exc
    raw = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise _malformed(path, 'expected {"entries": [...]}')
    entries: dict[tuple[str, str], BaselineEntry] = {}
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise _malformed(path, f"entry {n} is not an object")
        missing = [f for f in _FIELDS if not isinstance(item.get(f), str) or not item[f]]
        if missing:
            problem = f"entry {n} lacks {', '.join(missing)} (each a non-empty string)"
            raise _malformed(path, problem)
        entry = BaselineEntry(
            item["pair"], item["case"], item["diff"], str(item.get("summary") or ""), item["reason"]
        )
        if entry.key in entries:
            raise _malformed(path, f"entry {n} repeats {entry.name}; keep one")
        entries[entry.key] = entry
    return Baseline(path=path, entries=tuple(entries.values()), exists=True)


def _malformed(path: Path, problem: str) -> HarnessError:
    return HarnessError(
        f"baseline {path}: {problem}; fix the file or rebuild it with `harness baseline update`"
    )


# Text a run makes up afresh (scratch database names, object addresses) would make an error's
# fingerprint change on every run; it is no part of the difference.
_VOLATILE = (
    (re.compile(r"\bharness_[0-9a-f]{6,}\b"), "harness_<scratch>"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x<address>"),
)


def fingerprint(case: CaseResult) -> str:
    """A stable hash of the exact difference of ``case``: what differs, never timings or SQL.

    Two runs that differ in the same way give the same fingerprint; any other change to the
    difference (another value, path, row, count, error message) gives another.
    """
    diff = case.diff
    material: dict[str, Any] = {
        "status": case.status,
        "leaks": sorted(_first_quoting_leak(leak) for leak in case.leaks),
    }
    if diff is not None:
        material["diff"] = {
            "changes": [
                [_first_quoting_path(c.path), c.kind, c.legacy, c.new] for c in diff.changes
            ],
            # One-sided rows are a multiset: their order in the file means nothing.
            "only_legacy": sorted(canonical_json([r.row, r.count]) for r in diff.only_legacy),
            "only_new": sorted(canonical_json([r.row, r.count]) for r in diff.only_new),
            "reordered": diff.reordered,
            "truncated": diff.truncated,
        }
    if case.error is not None:
        message = case.error.message
        for pattern, replacement in _VOLATILE:
            message = pattern.sub(replacement, message)
        material["error"] = [case.error.side, case.error.type, message]
    # Through JSON first, so a run in memory and the same run read back from results.json
    # (tuples now lists, Decimals now text, int keys now text) give the same fingerprint.
    plain = json.loads(json.dumps(material, default=str))
    digest = hashlib.sha256(canonical_json(plain).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:32]}"


# Row ids in paths and values in leak messages were first written with Python's quoting
# ([id='b'], = 'org-2'); they are JSON now, as everywhere else. Fingerprints are taken in the
# first form, so a baseline written before still accepts the same differences.
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_ID_STEP = re.compile(rf"\[id=({_JSON_STRING})\]")
_LEAK = re.compile(rf"^(.* = )({_JSON_STRING}|.+?)( \(case tenant )({_JSON_STRING}|.+)\)$")


def _python_quoted(text: str) -> str:
    try:
        return repr(json.loads(text))
    except ValueError:  # cut short, or no JSON: as it is
        return text


def _first_quoting_path(path: str) -> str:
    return _ID_STEP.sub(lambda m: f"[id={_python_quoted(m.group(1))}]", path)


def _first_quoting_leak(leak: str) -> str:
    m = _LEAK.match(leak)
    if m is None:
        return leak
    head, value, middle, tenant = m.groups()
    return f"{head}{_python_quoted(value)}{middle}{_python_quoted(tenant)})"


def _differs(case: CaseResult) -> bool:
    return case.status in ("mismatch", "error")


def _summary(case: CaseResult) -> str:
    text = case.reason
    return text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1] + "…"


def apply_baseline(
    result: RunResult, baseline: Baseline, *, planned: set[tuple[str, str]] | None = None
) -> RunResult:
    """Mark the cases ``baseline`` accepts, and fail the gate on its stale entries.

    An entry is stale when its case now passes (the difference disappeared) or differs in
    another way (the difference changed), when its pair ran but has no such case any more, or
    when its pair is no longer registered at all (``run.registered_pairs`` of the result).
    Entries of registered pairs this run did not reach (``--only``, skipped, interrupted) are
    left alone, and so are entries of ``planned`` cases (pair, label) that another shard of the
    run runs.
    """
    stale: list[StaleEntry] = []
    accepted = 0
    seen: set[tuple[str, str]] = set()
    pairs = []
    for pair in result.pairs:
        cases = []
        for case in pair.cases:
            entry = baseline.get(pair.name, case.label)
            if entry is None:
                # Only this baseline decides: a results file read back may carry older verdicts.
                cases.append(replace(case, accepted=None) if case.accepted is not None else case)
                continue
            seen.add(entry.key)
            if not _differs(case):
                if case.status == "equal":
                    stale.append(_stale(entry, "the difference disappeared"))
                cases.append(case)
            elif fingerprint(case) == entry.diff:
                accepted += 1
                cases.append(replace(case, accepted=entry.reason))
            else:
                stale.append(_stale(entry, f"the difference changed (now: {_summary(case)})"))
                cases.append(replace(case, accepted=None))
        pairs.append(replace(pair, cases=tuple(cases)))
    registered = _registered(result)
    if not result.run.get("interrupted"):
        ran = {p.name for p in result.pairs if p.cases}
        for entry in baseline:
            elsewhere = planned is not None and entry.key in planned
            if entry.key not in seen and entry.pair in ran and not elsewhere:
                stale.append(_stale(entry, "the case no longer exists"))
    if registered is not None:
        for entry in baseline:
            if entry.pair not in registered:
                stale.append(_stale(entry, "no pair of that name is registered any more"))
    reasons = [
        f"baseline entry {s.entry} is stale: {s.why}; run `harness baseline update`" for s in stale
    ]
    return replace(
        result,
        pairs=tuple(pairs),
        # A second application must not list the same reason twice.
        gate_reasons=tuple(dict.fromkeys((*result.gate_reasons, *reasons))),
        baseline={
            "path": str(baseline.path),
            "exists": baseline.exists,
            "entries": len(baseline),
            "accepted": accepted,
            "stale": [s.to_json() for s in stale],
        },
    )


def _registered(result: RunResult) -> set[str] | None:
    """Every pair name the run's modules registered (None: a results file from before that)."""
    names = result.run.get("registered_pairs")
    return set(names) if isinstance(names, list) else None


def _stale(entry: BaselineEntry, why: str) -> StaleEntry:
    return StaleEntry(entry=entry.name, pair=entry.pair, case=entry.case, why=why)


def update_baseline(
    result: RunResult, path: Path | str = BASELINE_FILE, *, reason: str | None = None
) -> tuple[int, int, int]:
    """Rewrite the baseline at ``path`` to accept the run's current mismatches and errors.

    Unchanged entries keep their reasons; new or changed ones get ``reason`` (else a TODO that
    says to write one). Entries of pairs this run did not reach are kept as they are, unless
    no pair of that name is registered any more: those are dropped.
    Returns ``(added, kept, removed)``; a changed entry counts as one removed and one added.
    """
    path = Path(path)
    old = load_baseline(path)
    reached = {p.name for p in result.pairs if p.cases}
    entries: dict[tuple[str, str], BaselineEntry] = {}
    added = kept = 0
    for pair in result.pairs:
        for case in pair.cases:
            if not _differs(case):
                continue
            fp = fingerprint(case)
            before = old.get(pair.name, case.label)
            if before is not None and before.diff == fp:
                entries[before.key] = replace(before, summary=_summary(case))
                kept += 1
            else:
                entries[(pair.name, case.label)] = BaselineEntry(
                    pair.name, case.label, fp, _summary(case), reason or DEFAULT_REASON
                )
                added += 1
    registered = _registered(result)
    untouched = [
        e
        for e in old
        if e.pair not in reached
        and e.key not in entries
        and (registered is None or e.pair in registered)
    ]
    for entry in untouched:
        entries[entry.key] = entry
    removed = len(old) - kept - len(untouched)
    _write(path, sorted(entries.values(), key=lambda e: e.key))
    return added, kept, removed


def _write(path: Path, entries: list[BaselineEntry]) -> None:
    """Write atomically: a crash mid-write must not leave a half file that fails every run."""
    data: Mapping[str, Any] = {
        "harness_baseline": FORMAT_VERSION,
        "entries": [e.to_json() for e in entries],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline-", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)
