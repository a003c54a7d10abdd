"""Publishing never breaks the verdict: a report that cannot be drawn is one line, no more."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from report_samples import sample_run

from harness.drive import run_direct
from harness.report import html, results_file
from harness.report.results_file import CaseTexts, case_text, write_results
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


def test_case_texts_made_ahead_give_the_same_bytes(tmp_path: Path) -> None:
    """``--workers``' workers serialize their cases; the file is the one serializing it whole
    gives, at every depth, with hostile text, a float JSON has no number for, and a case
    replaced after its text was made (a baseline marked it), which is serialized again."""
    run = sample_run()
    made = CaseTexts()
    for p in run.pairs:
        for c in p.cases:
            made.add(c, case_text(c))
    first = run.pairs[0]
    nan_case = replace(first.cases[0], params={"limit": float("nan"), "q": "line\nbreak\u2028"})
    made.add(nan_case, case_text(nan_case))
    replaced = replace(first.cases[-1], accepted="known difference")  # made holds the old one
    pairs = (replace(first, cases=(nan_case, *first.cases[1:-1], replaced)), *run.pairs[1:])
    run = replace(run, pairs=pairs)

    assert made.get(replaced) is None and made.get(nan_case) is not None
    whole = write_results(run, tmp_path / "whole.json").read_bytes()
    ahead = write_results(run, tmp_path / "ahead.json", made=made).read_bytes()
    assert ahead == whole
    # Made as deep as a case stands in the file, a text goes in as it is: nothing is
    # re-indented at the end of the run.
    assert case_text(nan_case).encode() in whole
    data = json.loads(whole)
    assert data["pairs"][0]["cases"][0]["params"]["limit"] == "NaN"
    assert data["pairs"][0]["cases"][-1]["accepted"] == "known difference"
    assert sum(len(p["cases"]) for p in data["pairs"]) == sum(len(p.cases) for p in run.pairs)


def test_case_texts_go_in_where_they_stand_at_any_depth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should results.json nest its cases at another depth than ``CASE_INDENT`` says one day,
    the texts made ahead are indented where they stand: the same bytes as serializing whole."""
    monkeypatch.setattr(results_file, "CASE_INDENT", "  ")
    run = sample_run()
    made = CaseTexts()
    for p in run.pairs:
        for c in p.cases:
            made.add(c, case_text(c))
    whole = write_results(run, tmp_path / "whole.json").read_bytes()
    assert case_text(run.pairs[0].cases[0]).encode() not in whole  # made 2 deep, standing 4

    assert write_results(run, tmp_path / "ahead.json", made=made).read_bytes() == whole
