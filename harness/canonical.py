"""Canonical plain data: the scalar forms, hashable keys and tolerant equality.

A *canonical value* is what :func:`harness.normalize.walk.normalize` returns and
:func:`harness.compare.verdict.compare` takes: ``None``, ``bool``, ``int``, ``float``, ``str``, lists and
dicts with ``str`` keys, nothing else. Values that JSON has no type for become one-key *tagged*
dicts, so that a ``datetime`` never equals the string it prints as:

==================  ==============================================================
side value          canonical form
==================  ==============================================================
``datetime``        ``{"$datetime": "2024-05-01T12:00:00Z"}`` -- UTC; naive is taken as UTC;
                    microseconds written only when not zero
``date``            ``{"$date": "2024-05-01"}``
``time``            ``{"$time": "12:00:00"}`` (offset kept when the time has one)
``timedelta``       ``{"$timedelta": 90.0}`` (seconds)
``bytes``           ``{"$bytes": "00ff"}`` (hex); also ``bytearray`` and ``memoryview``
``Decimal``         ``int`` when its value is integral, else ``float`` (NaN, inf kept)
``UUID``            its ``str``
``enum.Enum``       its canonical ``.value``
==================  ==============================================================

Numbers compare by value: ``1 == 1.0`` and ``Decimal("1.50") == 1.5``; a ``float`` on either side
is compared within a tolerance (:func:`near`); ``bool`` never equals a number.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import repeat
from typing import Any
from uuid import UUID

NoneType = type(None)

DATETIME_TAG = "$datetime"
DATE_TAG = "$date"
TIME_TAG = "$time"
TIMEDELTA_TAG = "$timedelta"
BYTES_TAG = "$bytes"
TAGS = frozenset({DATETIME_TAG, DATE_TAG, TIME_TAG, TIMEDELTA_TAG, BYTES_TAG})

# Already canonical as they are; the hot paths test membership in this set before anything else.
PASS_TYPES: frozenset[type] = frozenset({str, int, float, bool, NoneType})
NUMBER_TYPES: frozenset[type] = frozenset({int, float})
CONTAINER_TYPES: frozenset[type] = frozenset({dict, list})


def datetime_value(value: datetime) -> dict[str, str]:
    """``{"$datetime": ISO-8601 in UTC with a Z}``; a naive datetime is taken as UTC already.

    An aware datetime whose instant falls outside years 1-9999 in UTC (``datetime.min`` at
    +01:00) keeps its own offset instead: ``"0001-01-01T00:00:00+01:00"``.
    """
    if value.tzinfo is None:  # the common case: the schema stores naive UTC
        return {DATETIME_TAG: value.isoformat() + "Z"}
    offset = value.utcoffset()
    if offset is not None:
        try:
            value = value.replace(tzinfo=None) - offset
        except OverflowError:
            return {DATETIME_TAG: value.isoformat()}
    elif value.tzinfo is not None:  # a tzinfo that knows no offset: keep the wall time
        value = value.replace(tzinfo=None)
    return {DATETIME_TAG: value.isoformat() + "Z"}


def date_value(value: date) -> dict[str, str]:
    """``{"$date": "YYYY-MM-DD"}``."""
    return {DATE_TAG: value.isoformat()}


def time_value(value: time) -> dict[str, str]:
    """``{"$time": "HH:MM:SS[.ffffff][+HH:MM]"}``."""
    return {TIME_TAG: value.isoformat()}


def timedelta_value(value: timedelta) -> dict[str, float]:
    """``{"$timedelta": seconds}``; compared within the float tolerance like any float."""
    return {TIMEDELTA_TAG: value.total_seconds()}


def bytes_value(value: bytes | bytearray | memoryview) -> dict[str, str]:
    """``{"$bytes": hex}``: readable in a diff, and never equal to a ``str``."""
    return {BYTES_TAG: bytes(value).hex()}


def decimal_value(value: Decimal) -> int | float:
    """An exact ``int`` for a Decimal with an integral value, else the nearest ``float``.

    Integers keep every digit (ids, counts in ``numeric`` columns, ``Decimal("2.00")``); fractions
    go to float because the other side's float is what they are compared with, within the
    tolerance anyway. NaN and the infinities become their float.
    """
    try:
        numerator, denominator = value.as_integer_ratio()
    except (ValueError, OverflowError):  # NaN, infinity
        return math.nan if value.is_nan() else float(value)
    if denominator == 1:
        return numerator
    try:  # rounds correctly: the float nearest the Decimal, as float() gives it
        return numerator / denominator
    except OverflowError:  # beyond the largest float
        return float(value)


# Exact-type conversions of scalars; subclasses are resolved by normalize and cached there.
SCALAR_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    datetime: datetime_value,
    date: date_value,
    time: time_value,
    timedelta: timedelta_value,
    Decimal: decimal_value,
    UUID: str,
    bytes: bytes_value,
    bytearray: bytes_value,
    memoryview: bytes_value,
}


class gc_paused:
    """Hold off the cyclic garbage collector for a bulk pass.

    Normalizing or keying 100k rows allocates a few hundred thousand containers, which triggers
    collections that each walk every live object of the process (in a test session, millions),
    although none of the new objects is part of a cycle. Reference counting still frees memory.
    A class rather than a generator: it wraps every case's small results too.
    """

    __slots__ = ("_resume",)

    def __enter__(self) -> None:
        self._resume = gc.isenabled()
        if self._resume:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._resume:
            gc.enable()


class _Marker:
    """A unique object with a readable repr, used inside hashable keys only."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# No canonical value is a tuple or a marker, so these keep the shapes of keys apart:
# (DICT, items) never equals a list's (LIST, items), and TRUE never equals 1.
TRUE = _Marker("true")
FALSE = _Marker("false")
DICT = _Marker("dict")
LIST = _Marker("list")
NUMBER = _Marker("number")


def canonical_key(value: Any) -> Any:
    """A hashable form of a canonical value: equal keys if and only if equal values (exactly).

    Dicts become ``(DICT, sorted items)``, lists ``(LIST, items)`` and booleans markers, so that
    ``True`` and ``1`` get different keys although Python says ``True == 1``. Floats are kept
    exact: the comparison counts rows by this key first, and only the rows left over are
    matched within the tolerance with :func:`close` (so a key never has to guess which floats
    are near each other).
    """
    cls = value.__class__
    if cls is bool:
        return TRUE if value else FALSE
    if cls is dict:
        return (DICT, tuple(sorted(zip(value, map(canonical_key, value.values()), strict=True))))
    if cls is list:
        return (LIST, tuple(map(canonical_key, value)))
    return value


def blur_key(value: Any, *, ints: bool) -> Any:
    """Like :func:`canonical_key`, with every float (and every int when ``ints``) made alike.

    Rows whose blurred keys are equal differ at most in their numbers; they are the candidates
    that :func:`close` may still find equal within the tolerance.
    """
    cls = value.__class__
    if cls is float or (ints and cls is int):
        return NUMBER
    if cls is bool:
        return TRUE if value else FALSE
    if cls is dict:
        return (DICT, tuple(sorted((k, blur_key(v, ints=ints)) for k, v in value.items())))
    if cls is list:
        return (LIST, tuple(blur_key(v, ints=ints) for v in value))
    return value


def near(a: int | float, b: int | float, tolerance: float) -> bool:
    """Two numbers within ``tolerance``: relative above 1, absolute below; NaN equals NaN.

    Two ints are compared exactly: the tolerance is for the rounding of floats, and an id or a
    count that is off by one is a real difference however large it is.
    """
    if a == b:
        return True
    if a.__class__ is int and b.__class__ is int:
        return False
    if a != a and b != b:  # NaN: same value on both sides as far as a person is concerned
        return True
    if not tolerance:
        return False
    try:
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
    except OverflowError:  # an int too large for a float is not near any float that differs
        return False


def close(a: Any, b: Any, tolerance: float) -> bool:
    """Deep equality of canonical values with numbers compared by :func:`near`.

    Types must agree except int/float: ``"1"`` is not ``1``, ``None`` is not ``""``, ``True`` is
    not ``1``, and a missing key is not a key holding ``None``. Lists compare in order.
    """
    if a is b:
        return True
    cls = a.__class__
    other = b.__class__
    if cls is other:
        if cls is dict:
            return a.keys() == b.keys() and all(close(v, b[k], tolerance) for k, v in a.items())
        if cls is list:
            return len(a) == len(b) and all(map(close, a, b, repeat(tolerance)))
        if cls is float:
            return near(a, b, tolerance)
        return bool(a == b)
    if cls in NUMBER_TYPES and other in NUMBER_TYPES:
        return near(a, b, tolerance)
    return False


def describe(value: Any, limit: int = 60) -> str:
    """A short, unambiguous rendering for summaries, tagged values shown as such.

    JSON, as the report and results.json write values, so a reader meets one quoting style
    everywhere: ``describe("high")`` is ``"high"``, ``describe({"$date": "2024-05-01"})`` is
    ``date(2024-05-01)``.
    """
    if value.__class__ is dict and len(value) == 1:
        ((tag, inner),) = value.items()
        if tag in TAGS:
            return f"{tag[1:]}({inner})"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # not canonical (a tuple key, a cycle): say what it is
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def canonical_json(value: Any) -> str:
    """One text per value: keys sorted, no spaces, non-ASCII kept, unknown types as ``str``.

    The single canonical-JSON spelling of the harness: baseline fingerprints hash it (so it must
    not change), and multiset sorting, fresh-value matching and the report's row marks use it.
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
