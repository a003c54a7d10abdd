"""The optional C speed-ups of the comparison's hot loops, and the switch to the Python twins.

``harness/_speedups.c`` holds C twins of four loops over every value of a large result:
reading tuple rows or dict rows into typed columns, walking JSON containers for their keys and
types, and comparing two columns position by position. Each does what its Python twin does
(:mod:`harness.normalize.table`, :mod:`harness.compare.columns`), value for value; the Python
twins are the reference, and ``tests/test_speedups.py`` checks each pair against the other.

The extension is built when the package is installed from source with a C compiler at hand
(as MarkupSafe builds its ``_speedups``); without one the install still succeeds and the Python
twins run, slower on large results and the same in every verdict. ``HARNESS_PURE_PYTHON=1``
turns the C twins off (to rule them out while debugging, or to measure them).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("HARNESS_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        return importlib.import_module("harness._speedups")
    except ImportError:
        return None


# The compiled module, or None: read at each use, so that a test can switch it off.
native: ModuleType | None = _load()
