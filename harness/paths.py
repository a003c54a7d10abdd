"""Path patterns: which parts of a result ``ignore`` leaves out (and ``unordered`` sorts).

Syntax, read left to right from the value the pattern applies to:

* ``name`` or ``.name`` -- the key ``name`` of a dict; ``*`` and ``?`` are globs (``*At``);
  a key with dots, brackets or quotes is written ``["a.b"]``;
* ``[*]`` -- every element of a list; ``[3]`` -- the element at index 3.

A pattern that starts with a key matches at any depth: ``createdAt`` is every ``createdAt`` key,
``author.email`` every ``email`` under an ``author``, ``comments[*].id`` the ids of every
``comments`` list. A pattern that starts with ``$`` or with a row (``[*]``, ``[3]``) is anchored
at the top of the result: ``[*].updatedAt`` is the ``updatedAt`` of each top-level row only,
``$.total`` the key ``total`` of a top-level dict only; ``["a.b"]`` at the start is a key, so it
matches anywhere. ``[*]`` alone would leave out every row and is refused.

The paths a diff names (``[3].title``, ``comments[0].content``) are written in the same syntax
(see :func:`join`), so one pasted into ``ignore`` with ``[*]`` for the row index works.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from harness.canonical import CONTAINER_TYPES, canonical_json
from harness.errors import ConfigError

_TOKEN = re.compile(
    r"""\[(?:(?P<any>\*)|(?P<index>\d+)|"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)')\]
      |(?P<dot>\.)?(?P<name>[^.\[\]"']+)""",
    re.X,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]*\Z")
_EXPECTED = "a path like 'createdAt', '[*].updatedAt', 'author.email' or 'comments[*].id'"

DROP = "ignore"
SORT = "unordered"


class Segment(NamedTuple):
    """One step of a pattern: ``key`` name, ``glob`` pattern, ``index`` n, or ``any`` (``[*]``)."""

    kind: Literal["key", "glob", "index", "any"]
    arg: Any


@dataclass(frozen=True)
class PathPattern:
    """One parsed pattern: its text, whether it is anchored at the top, and its segments."""

    text: str
    anchored: bool
    segments: tuple[Segment, ...]


def parse_path(text: str, setting: str = "ignore") -> PathPattern:
    """Parse one pattern; a :class:`ConfigError` names the setting and the bad path."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError.bad_value(setting, text, _EXPECTED)
    # A leading [*] or [3] is a row of the top-level list; a leading ["key"] is a key like any.
    anchored = text.startswith("$") or bool(re.match(r"\[(\*|\d+)\]", text))
    pos = 1 if text.startswith("$") else 0
    segments: list[Segment] = []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        # After the first segment (or after "$") a key must follow a dot: "a[*]b" is a typo.
        needs_dot = bool(segments) or text.startswith("$")
        if match is None or (match["name"] is not None and needs_dot and not match["dot"]):
            raise ConfigError.bad_value(setting, text, _EXPECTED)
        if match["any"]:
            segments.append(Segment("any", None))
        elif match["index"] is not None:
            segments.append(Segment("index", int(match["index"])))
        elif match["dq"] is not None:
            segments.append(Segment("key", json.loads(f'"{match["dq"]}"')))
        elif match["sq"] is not None:
            segments.append(Segment("key", match["sq"]))
        else:
            name = match["name"]
            segments.append(Segment("glob" if any(c in name for c in "*?") else "key", name))
        pos = match.end()
    if not segments or (anchored and segments == [("any", None)] and setting == DROP):
        raise ConfigError.bad_value(
            setting, text, _EXPECTED + " (this one would leave out everything)"
        )
    return PathPattern(text, anchored, tuple(segments))


def join(parent: str, step: str | int) -> str:
    """The path of ``step`` (a key or a list index) under ``parent``, in pattern syntax."""
    if isinstance(step, int):
        return f"{parent}[{step}]"
    if _IDENTIFIER.match(step):
        return f"{parent}.{step}" if parent else step
    return f"{parent}[{json.dumps(step, ensure_ascii=False)}]"


_ROOT = re.compile(r"^(?:root|\$)(?=[\[.]|$)")


def steps(path: str) -> tuple[str, ...]:
    """The keys and indexes (as text) of a path a diff names, in the one path grammar above.

    Lenient where :func:`parse_path` is strict, since it reads results files: a leading ``$``
    (or DeepDiff's ``root``) is dropped and anything unreadable is skipped.

    >>> steps('[3].machine["odd key"]')
    ('3', 'machine', 'odd key')
    """
    found = []
    for match in _TOKEN.finditer(_ROOT.sub("", path.strip())):
        if match["any"]:
            found.append("*")
        elif match["index"] is not None:
            found.append(match["index"])
        elif match["dq"] is not None:
            found.append(json.loads(f'"{match["dq"]}"'))
        else:
            found.append(match["sq"] if match["sq"] is not None else match["name"])
    return tuple(found)


def _matches(segment: Segment, step: str | int) -> bool:
    kind, arg = segment
    if isinstance(step, int):
        return kind == "any" or (kind == "index" and arg == step)
    if kind == "key":
        return bool(arg == step)
    return kind == "glob" and fnmatchcase(step, arg)


sort_token = canonical_json  # a total order over canonical values, for multiset comparison


Step = tuple[bool, bool, int]  # (leave it out, sort it, state id of what is below it)


class PathFilter:
    """A compiled set of patterns, applied by walking a value once.

    The walk is a small automaton: a *state* is the set of (pattern, position) pairs still
    alive at a node; the step taken for a key or an index is memoized per (state, key), so the
    patterns are matched once per distinct key, not once per row.
    """

    def __init__(self, ignore: Sequence[str] = (), unordered: Sequence[str] = ()) -> None:
        self.patterns = [(parse_path(p, DROP), DROP) for p in ignore]
        self.patterns += [(parse_path(p, SORT), SORT) for p in unordered]
        self._floating = frozenset(
            (i, 0) for i, (p, _) in enumerate(self.patterns) if not p.anchored
        )
        self._sets: list[frozenset[tuple[int, int]]] = []
        self._ids: dict[frozenset[tuple[int, int]], int] = {}
        self._dead: list[bool] = []  # no pattern can match anything below a node in this state
        self._indexed: list[bool] = []  # some alive pattern looks at a specific list index
        self._memo: dict[tuple[int, str | int], Step] = {}
        anchored = frozenset((i, 0) for i, (p, _) in enumerate(self.patterns) if p.anchored)
        self.root = self._intern(anchored | self._floating)

    def _intern(self, state: frozenset[tuple[int, int]]) -> int:
        sid = self._ids.get(state)
        if sid is None:
            sid = self._ids[state] = len(self._sets)
            self._sets.append(state)
            self._dead.append(not state)
            self._indexed.append(
                any(self.patterns[p][0].segments[i][0] == "index" for p, i in state)
            )
        return sid

    def step(self, sid: int, step: str | int) -> Step:
        """Where ``step`` (a dict key, or a list index; -1 for any index) leads from ``sid``."""
        memo_key = (sid, step if isinstance(step, str) or self._indexed[sid] else -1)
        found = self._memo.get(memo_key)
        if found is None:
            drop = sort = False
            alive = set(self._floating)
            for p, i in self._sets[sid]:
                pattern, action = self.patterns[p]
                if _matches(pattern.segments[i], step):
                    if i + 1 < len(pattern.segments):
                        alive.add((p, i + 1))
                    elif action == DROP:
                        drop = True
                    else:
                        sort = True
            found = self._memo[memo_key] = (drop, sort, self._intern(frozenset(alive)))
        return found

    def is_dead(self, sid: int) -> bool:
        """True when nothing below a node in state ``sid`` can be left out or sorted."""
        return self._dead[sid]

    def element_step(self, sid: int) -> Step | None:
        """The step into every element of a list, or None when it depends on the index."""
        return None if self._indexed[sid] else self.step(sid, -1)

    def apply(self, value: Any) -> Any:
        """``value`` with the ignored parts left out and the unordered lists sorted."""
        return self.walk(value, self.root)

    def walk(self, value: Any, sid: int) -> Any:
        """Apply the patterns to ``value``, reached in state ``sid``; returns new containers."""
        cls = value.__class__
        if cls is dict:
            out = {}
            for key, item in value.items():
                drop, sort, below = self.step(sid, key)
                if drop:
                    continue
                if item.__class__ in CONTAINER_TYPES and not self._dead[below]:
                    item = self.walk(item, below)
                if sort and item.__class__ is list:
                    item = sorted(item, key=sort_token)
                out[key] = item
            return out
        if cls is list:
            items = []
            for index, item in enumerate(value):
                drop, sort, below = self.step(sid, index)
                if drop:
                    continue
                if item.__class__ in CONTAINER_TYPES and not self._dead[below]:
                    item = self.walk(item, below)
                if sort and item.__class__ is list:
                    item = sorted(item, key=sort_token)
                items.append(item)
            return items
        return value


@lru_cache(maxsize=256)
def compile_paths(ignore: tuple[str, ...] = (), unordered: tuple[str, ...] = ()) -> PathFilter:
    """A :class:`PathFilter` for these patterns, compiled once per distinct set."""
    return PathFilter(ignore, unordered)


def check_paths(paths: Sequence[str], setting: str = DROP) -> None:
    """Raise :class:`ConfigError` for the first pattern that does not parse (for registration)."""
    for text in paths:
        parse_path(text, setting)
