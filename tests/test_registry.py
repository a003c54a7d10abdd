"""Registering pairs: what a pair module may say, and the errors that name the pair and the file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import RegistrationError
from harness.registry import Case, load_pairs

FX = SimpleNamespace(tenants=["org-a", "org-b"], rows=lambda table: [])

GOOD = """
from harness import pair, Case
p = pair("demo.get")
@p.legacy
def _(ctx, item_id):
    return item_id
@p.new
def _(ctx, item_id):
    return item_id
@p.cases
def _(fx):
    for org in fx.tenants:
        yield Case(tenant_id=org, params={"item_id": 1})
    yield Case(tenant_id="org-a", params={"item_id": 1})
"""


def write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return str(path)


def test_load_a_file_and_label_cases(tmp_path: Path) -> None:
    path = write(tmp_path, "good", GOOD)
    registry = load_pairs([path], include_default=False)
    (p,) = list(registry)
    assert p.name == "demo.get" and p.router == "demo" and p.options.ordered is False
    assert p.where == f"{path}:3"  # the line of its pair() call, in reports and errors
    labels = [label for label, _ in p.make_cases(FX)]
    assert labels == ["org-a,item_id=1", "org-b,item_id=1", "org-a,item_id=1#2"]  # unique labels


def test_a_pair_without_cases_runs_once(tmp_path: Path) -> None:
    source = (
        GOOD.split("@p.cases")[0]
        .replace("(ctx, item_id)", "(ctx)")
        .replace("return item_id", "return 1")
    )
    (p,) = list(load_pairs([write(tmp_path, "nocases", source)], include_default=False))
    assert p.make_cases(FX) == [("case0", Case())]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (GOOD.replace("@p.new\ndef _(ctx, item_id):\n    return item_id\n", ""), "no new side"),
        (GOOD + "\nq = pair('demo.get')\n", "already registered by"),
        (
            GOOD.replace('params={"item_id": 1}', 'params={"item_id": object()}', 1),
            "not JSON-serializable",
        ),
        (
            GOOD.replace('params={"item_id": 1}', 'params={"other": 1}', 1),
            "cannot take the case params",
        ),
        (
            GOOD.replace(
                "for org in fx.tenants:", "raise KeyError('Issue')\n    for org in fx.tenants:"
            ),
            "cases function raised KeyError",
        ),
        (
            GOOD.replace('pair("demo.get")', 'pair("demo.get", tenant_scoped=False)'),
            "cross_tenant_reason",
        ),
        (GOOD.replace('pair("demo.get")', 'pair("demo.get", writes=True)'), "watch="),
        (
            GOOD.replace('pair("demo.get")', 'pair("demo.get", ignore={"[*]": "all"})'),
            "is not valid",
        ),
    ],
)
def test_registration_errors_name_the_pair_and_file(
    tmp_path: Path, source: str, message: str
) -> None:
    path = write(tmp_path, "bad", source)
    with pytest.raises(RegistrationError) as info:
        registry = load_pairs([path], include_default=False)
        for p in registry:
            p.make_cases(FX)
    text = str(info.value)
    assert message in text
    assert "demo.get" in text and "bad.py" in text


def test_only_patterns(tmp_path: Path) -> None:
    registry = load_pairs([write(tmp_path, "good", GOOD)], include_default=False)
    assert [p.name for p in registry.select(["demo.*"])] == ["demo.get"]
    with pytest.raises(RegistrationError, match="matches no registered pair"):
        registry.select(["nope.*"])


def test_reference_pairs_load_by_default() -> None:
    registry = load_pairs()
    assert len(registry) >= 30
    assert {p.router for p in registry} >= {
        "issue",
        "comment",
        "organization",
        "user",
        "machine",
        "location",
    }
