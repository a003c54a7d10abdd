"""A pair's comparison rules, compiled once when the pair is registered.

``ordered``, the ``ignore`` and ``unordered`` path patterns (compiled into one
:class:`~harness.paths.PathFilter`), the float tolerance and the ``keys`` rename map travel
together as a :class:`Rules` on the pair, so no case parses a pattern again and a bad pattern is
a registration error, not a per-case one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from harness.paths import PathFilter, compile_paths


@dataclass(frozen=True)
class Rules:
    """How two normalized results of a pair are compared."""

    ordered: bool = False
    float_tolerance: float = 1e-9
    paths: PathFilter | None = None  # ignore + unordered, compiled; None when there are none
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def compile(
        cls,
        *,
        ordered: bool = False,
        ignore: Sequence[str] = (),
        unordered: Sequence[str] = (),
        float_tolerance: float = 1e-9,
        keys: Mapping[str, str] | None = None,
    ) -> Rules:
        """Parse and compile the patterns; a bad one raises :class:`~harness.errors.ConfigError`."""
        paths = compile_paths(tuple(ignore), tuple(unordered)) if ignore or unordered else None
        return cls(
            ordered=ordered,
            float_tolerance=float_tolerance,
            paths=paths,
            keys=MappingProxyType(dict(keys or {})),
        )


EXACT = Rules()
"""Rules with no options: unordered top level, nothing ignored, the default tolerance."""
