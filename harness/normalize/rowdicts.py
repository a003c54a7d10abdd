"""Dict rows from value tuples at the speed of a dict display.

``dict(zip(names, values))`` costs four times what a dict display ``{"id": v0, "name": v1}`` does,
and normalizing a result builds one dict per row. So, the way :mod:`dataclasses` writes its
``__init__``, a builder for each distinct column layout is written as source once and compiled:

>>> build = row_builder(("id", "price"), (AS_IS, CONVERT))
>>> build([("w1", "2.50")], None, float)
[{'id': 'w1', 'price': 2.5}]

The keys enter the source as ``repr()`` literals and the values as generated names, so no column
name can change the code. A column is taken as it is (:data:`AS_IS`), passed through its converter
(:data:`CONVERT`), or passed through it unless the value is already canonical
(:data:`CONVERT_ODD`: a column of Decimals and NULLs).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from harness.canonical import PASS_TYPES

AS_IS, CONVERT, CONVERT_ODD = 0, 1, 2

Builder = Callable[..., list[dict[str, Any]]]


@lru_cache(maxsize=512)
def row_builder(names: tuple[str, ...], modes: tuple[int, ...]) -> Builder:
    """A function ``(values, *converters) -> rows`` for value tuples laid out as ``names``.

    ``converters`` has one entry per column (None where the mode is :data:`AS_IS`).
    """
    if not names:
        return lambda values, *converters: [{} for _ in values]
    params = ", ".join(f"c{i}" for i in range(len(names)))
    items = []
    for i, (name, mode) in enumerate(zip(names, modes, strict=True)):
        if mode == CONVERT:
            value = f"c{i}(v{i})"
        elif mode == CONVERT_ODD:
            value = f"(v{i} if v{i}.__class__ in PASS_TYPES else c{i}(v{i}))"
        else:
            value = f"v{i}"
        items.append(f"{name!r}: {value}")
    unpack = ", ".join(f"v{i}" for i in range(len(names))) + ","
    source = (
        f"def build(values, {params}):\n"
        f"    return [{{{', '.join(items)}}} for {unpack} in values]\n"
    )
    namespace: dict[str, Any] = {"PASS_TYPES": PASS_TYPES}
    exec(compile(source, f"<row builder {len(names)} columns>", "exec"), namespace)
    build: Builder = namespace["build"]
    return build
