"""Publishing never breaks the verdict: a report that cannot be drawn is one line, no more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.drive import run_direct
from harness.report import html
from harness.settings import HarnessConfig

GOOD = str(Path(__file__).parent / "pair_modules" / "good.py")


def _broken_renderer(*args: object, **kwargs: object) -> Path:
    raise RuntimeError("template exploded")


def test_a_report_that_cannot_be_drawn_leaves_results_and_verdict_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.html").write_text("an older run's page")
    monkeypatch.setattr(html, "render_report", _broken_renderer)
    config = HarnessConfig(
        pairs=(GOOD,), only=("good.issueCount",), report_dir=out, bench=False, baseline=None,
        include_default_pairs=False,
    )  # fmt: skip

    assert run_direct(config) == 0  # the gate's verdict, not the report's failure

    lines = [x for x in capsys.readouterr().err.splitlines() if "could not be drawn" in x]
    assert len(lines) == 1 and "RuntimeError: template exploded" in lines[0]
    assert json.loads((out / "results.json").read_text())["summary"]["gate"] == "pass"
    assert not (out / "index.html").exists()  # the older page never looks current
