"""The HTML report without a browser: escaping, self-containment, content, size and speed."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from markupsafe import escape
from report_samples import (
    HTML_TEXT,
    SCRIPT,
    big_run,
    case,
    issue_row,
    passing_run,
    sample_run,
    side,
)

from harness.compare.verdict import compare
from harness.errors import HarnessError
from harness.paths import steps
from harness.records import Change, Diff, Latency, PairResult, RunResult
from harness.report import html
from harness.report.html import pair_anchor, rebuild, render_report
from harness.report.results_file import write_results


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report")
    return render_report(sample_run(), out_dir=out).read_text(encoding="utf-8")


def _section(page: str, pair_name: str) -> str:
    """The markup of one pair's section (from its anchor to the next pair's)."""
    start = page.index(f'id="{pair_anchor(pair_name)}"')
    end = page.find('<section class="pair', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_render_writes_one_index_html(tmp_path: Path) -> None:
    path = render_report(sample_run(), out_dir=tmp_path / "reports")
    assert path == tmp_path / "reports" / "index.html"
    assert [p.name for p in path.parent.iterdir()] == ["index.html"]


def test_fixture_text_is_escaped_everywhere(page: str) -> None:
    assert SCRIPT not in page
    assert "<b>&" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Our two script elements are the only ones: the JSON data block and the page's code.
    assert len(re.findall(r"<script\b", page)) == 2
    assert page.count("alert(1)") >= 3  # it is there, as text: in a label, params, a message


def test_embedded_json_is_safe_and_parses(page: str) -> None:
    block = re.search(
        r'<script type="application/json" id="harness-data">(.*?)</script>', page, re.S
    )
    assert block is not None
    text = block.group(1)
    assert "</" not in text and "<" not in text
    data = json.loads(text)
    assert [p["name"] for p in data["pairs"]][:2] == ["issue.list", "issue.get"]
    assert {p["status"] for p in data["pairs"]} == {"equal", "mismatch", "error", "skipped"}


def test_no_external_resources(page: str) -> None:
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert "<link" not in page and "<iframe" not in page
    # The page also forbids any fetch, in case some value ever slipped through unescaped.
    assert "default-src 'none'" in page
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", page)


def test_script_hash_matches_the_inline_script(page: str) -> None:
    import base64
    import hashlib

    code = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(code) == 1
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page


def test_header_shows_database_counts_verdict_and_run(page: str) -> None:
    header = page[page.index("<header") : page.index("</header>")]
    assert "Gate FAILED" in header
    assert "postgresql://postgres:***@localhost:5432/harness_3f9c2a1b" in header
    assert "side order seed 81529" in header
    assert "12.4 s" in header
    assert "issue.list: 1 mismatching case" in header
    assert "machine.list: 1 erroring case" in header
    assert "comment.list: max_latency_ratio" in header
    assert "user.profile" not in header  # not gated: it never fails the gate
    counts = re.findall(r"<li><b>(\d+)</b>(\w+)</li>", header)
    assert counts == [
        ("8", "pairs"),
        ("2", "equal"),
        ("4", "mismatch"),
        ("1", "error"),
        ("1", "skipped"),
    ]


def test_prepare_compiles_every_template_drawing_uses(tmp_path: Path) -> None:
    """``--workers``' controller compiles the templates while its workers run: drawing the
    report then compiles none (each costs milliseconds at the end of the run)."""
    html._environment.cache_clear()  # a fresh environment: no template compiled yet
    html.prepare()
    compiled = set(html._environment().cache.keys())
    render_report(sample_run(), out_dir=tmp_path)
    assert set(html._environment().cache.keys()) == compiled


def test_passing_run_says_so(tmp_path: Path) -> None:
    page = render_report(passing_run(), out_dir=tmp_path).read_text(encoding="utf-8")
    assert "Gate passed" in page and "Gate FAILED" not in page
    assert 'class="top gate-pass"' in page


def test_run_level_gate_reasons_are_listed(tmp_path: Path) -> None:
    reason = "baseline entry issue.list[org-1] is stale: the difference disappeared"
    run = replace(passing_run(), gate_reasons=(reason,))
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "Gate FAILED" in page
    assert str(escape(reason)) in page


def test_mismatch_shows_path_both_values_and_highlights(page: str) -> None:
    section = _section(page, "issue.list")
    assert "<code>[0].title</code>" in section
    assert str(escape('"Flipper 0 sticks <b>&\\"\'"')) in section  # legacy value, as JSON
    assert str(escape('"Flipper 0 sticks <b>&amp;\\"\'"')) in section  # new value
    assert "<code>[2].resolvedAt</code>" in section
    marks = re.findall(r'<mark class="hl">(.*?)</mark>', section)
    assert any("&#34;title&#34;" in m for m in marks)
    assert any("&#34;resolvedAt&#34;" in m for m in marks)
    assert not any("&#34;machineId&#34;" in m for m in marks)


def test_unordered_rows_and_reordering(page: str) -> None:
    section = _section(page, "location.list")
    assert "Rows only in legacy: 1 distinct, 1 in all" in section
    assert "Rows only in new: 2 distinct, 2 in all" in section
    assert "Same rows, different order." in section
    assert "Barcade" in section


def test_error_shows_side_type_message_sql_and_traceback(page: str) -> None:
    section = _section(page, "machine.list")
    assert "new side raised OperationalError" in section
    assert "no such column: Machine.ownerid (near &lt;script&gt;" in section
    assert "&#34;Machine&#34;.&#34;ownerid&#34;" in section
    assert 'class="traceback"' in section and "run_side" in section
    assert "no result: this side raised OperationalError" in section


def test_statements_leaks_accepted_skipped_and_violations(page: str) -> None:
    assert "Tenant leaks" in _section(page, "issue.search")
    assert "Issue iss-org-2-4 of org-2 returned to org-1" in page
    assert "2 SQL statements" in _section(page, "issue.list")
    assert "Accepted by the baseline:</b> bio is trimmed on purpose" in page
    assert "Skipped: no cases: the fixture has no unread notifications" in page
    assert "new/legacy 2.10x (CI 1.90-2.30) &gt; 1.50" in page


def test_pairs_table_has_ratio_with_ci_and_query_medians(page: str) -> None:
    table = page[page.index('<table id="pairs">') : page.index("</table>")]
    assert table.count("<tr data-i=") == 8
    ratio = "0.46\N{MULTIPLICATION SIGN}</span>"
    assert f'{ratio} <span class="ci">(0.41\N{EN DASH}0.52)</span>' in table
    assert "2 / 1" in table  # issue.search: median queries per case legacy / new


def test_equal_cases_are_compact_and_closed(page: str) -> None:
    section = _section(page, "issue.get")
    assert "<details>" in section and "<details open" not in section
    assert "3 equal cases" in section
    assert '<article class="case' not in section  # no case drawn in full


def _chart_rows(page: str) -> dict[str, str]:
    chart = page[page.index('<ol class="chart"') : page.index("</ol>")]
    rows = chart.split('<li class="chart-row"')[1:]
    return {re.search(r'<a href="#[^"]+">([^<]+)</a>', row).group(1): row for row in rows}  # type: ignore[union-attr]


def test_latency_chart_draws_every_pair_with_a_p50(page: str) -> None:
    rows = _chart_rows(page)
    assert len(rows) == 7  # every pair with a p50; not the skipped one
    assert all(row.count('class="bar bar-new"') == 1 for row in rows.values())
    assert "<svg" not in page  # HTML rows: readable text at any width


def test_latency_chart_shows_the_interval_and_the_limit(page: str) -> None:
    rows = _chart_rows(page)
    # The scale ends at the farthest reach: issue.search's limit line, 3.0 ms x 1.5 = 4.5 ms.
    # issue.list: its interval 2.4 ms x 0.41-0.52 at 21.87%, its limit 2.4 ms x 1.5 at 80%.
    assert 'style="left: 21.87%; width: 5.86%"' in rows["issue.list"]
    limit = 'class="limit" title="max_latency_ratio 1.5 \N{MULTIPLICATION SIGN} legacy p50" style="left: 80.0%"'
    assert limit in rows["issue.list"]
    assert (
        "0.46\N{MULTIPLICATION SIGN} (0.41\N{EN DASH}0.52) · limit 1.5\N{MULTIPLICATION SIGN}"
        in rows["issue.list"]
    )
    assert (
        "limit 1.2\N{MULTIPLICATION SIGN}" in rows["issue.get"]
    )  # its own option beats the run's setting
    assert 'style="left: 21.33%"' in rows["issue.get"]  # 0.8 ms x 1.2
    assert 'class="band"' not in rows["issue.search"]  # no interval measured: none drawn
    assert 'class="band cut"' not in rows["comment.list"]  # 1.0 x 2.3 stays on the scale
    assert "max_latency_ratio limit</li>" in page  # the legend names the line


def test_latency_chart_without_a_limit_draws_no_line(tmp_path: Path) -> None:
    page = render_report(passing_run(), out_dir=tmp_path).read_text(encoding="utf-8")
    assert 'class="limit"' not in page and "max_latency_ratio" not in page
    assert len(_chart_rows(page)) == 3


def test_no_ratio_for_a_pair_whose_cases_errored(page: str, tmp_path: Path) -> None:
    table = page[page.index('<table id="pairs">') : page.index("</table>")]
    row = table[table.index("machine.list") :].split("</tr>")[0]
    assert (
        'data-ratio=""' in row and "\N{MULTIPLICATION SIGN}" not in row
    )  # single runs gave 0.2 / 1.0 ms: no 0.2x
    assert "no ratio: a case errored" in _chart_rows(page)["machine.list"]
    # A measured latency too: the erroring case was left out of it, so it compares nothing.
    run = sample_run()
    pairs = list(run.pairs)
    pairs[3] = replace(pairs[3], latency=Latency(1.0, 0.4, 0.4, ratio_low=0.3, ratio_high=0.5))
    other = render_report(replace(run, pairs=tuple(pairs)), out_dir=tmp_path)
    text = other.read_text(encoding="utf-8")
    row = _chart_rows(text)["machine.list"]
    assert (
        "0.40\N{MULTIPLICATION SIGN}" not in row
        and 'class="band' not in row
        and 'class="limit"' not in row
    )
    assert (
        "0.40\N{MULTIPLICATION SIGN}"
        not in text[text.index('<table id="pairs">') : text.index("</table>")]
    )


def test_anchors_come_from_pair_names_and_survive_other_pairs(tmp_path: Path) -> None:
    run = sample_run()
    page = render_report(run, out_dir=tmp_path / "a").read_text(encoding="utf-8")
    anchor = pair_anchor("location.list")
    assert re.fullmatch(r"pair-location-list-[0-9a-f]{6}", anchor)
    assert f'id="{anchor}"' in page and f'href="#{anchor}"' in page
    assert 'id="pair-0"' not in page
    fewer = replace(run, pairs=run.pairs[2:])  # two pairs gone: the link still lands
    assert f'id="{anchor}"' in render_report(fewer, out_dir=tmp_path / "b").read_text("utf-8")
    # Names with the same slug stay apart; a name with no ASCII letters still gets one.
    assert pair_anchor("issue.list") != pair_anchor("issue-list")
    assert re.fullmatch(r"pair-[0-9a-f]{6}", pair_anchor("日本"))


def test_case_summary_quotes_values_as_json(tmp_path: Path) -> None:
    legacy = [issue_row(0, priority="high")]
    new = [issue_row(0, priority="'high'")]

    diff = compare(legacy, new, ordered=True).diff
    assert diff is not None
    c = case("issue.list", "org-1", "mismatch", diff=diff, legacy=side(legacy), new=side(new))
    run = RunResult(
        "0.1.0", "sqlite", "sqlite:///x", (PairResult("issue.list", "issue", True, (c,)),)
    )
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    summary = "[0].priority: &#34;high&#34; != &#34;&#39;high&#39;&#34;"
    assert summary in page  # JSON quoting, as the diff table's cells
    assert "\\&#39;" not in page  # no Python repr escape anywhere


def test_missing_optional_run_fields(tmp_path: Path) -> None:
    run = RunResult("0.1.0", "sqlite", "sqlite:///x.sqlite3", passing_run().pairs)
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "side order seed —" in page
    assert "interrupted" not in page


def test_engine_order_seed_is_shown(tmp_path: Path) -> None:
    run = replace(passing_run(), run={"seed": 3, "order_seed": 4242})
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "3\n        · side order seed 4242" in page


def test_interrupted_run_is_flagged(tmp_path: Path) -> None:
    run = replace(passing_run(), run={"interrupted": True})
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    assert 'id="interrupted"' in page


def test_thousand_cases_with_big_diffs_stay_small(tmp_path: Path) -> None:
    """How long it takes is benchmarks/test_bench_report.py's business, not a test's."""
    run = big_run(cases=1_000, pairs=4, diff_rows=10_000)
    path = render_report(run, out_dir=tmp_path)
    size = path.stat().st_size
    assert size < 5_000_000, f"{size:,} bytes"
    page = path.read_text(encoding="utf-8")
    assert "9,950 more changed paths" in page
    assert "9,980 more rows" in page
    assert "cut here; the whole result is in results.json" in page
    assert "more failing cases, in short" in page
    assert "9,985 more statements" in page


def test_thousand_cases_in_one_pair(tmp_path: Path) -> None:
    path = render_report(big_run(cases=1_000, pairs=1), out_dir=tmp_path)
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 5_000_000
    assert page.count('<article class="case') == 25
    assert "975 more failing cases, in short" in page


def test_long_results_draw_the_differing_rows_only(tmp_path: Path) -> None:
    rows = [issue_row(n) for n in range(40)]
    changed = [dict(r) for r in rows]
    changed[35]["title"] = "renamed"
    change = Change("[35].title", "changed", rows[35]["title"], "renamed")
    diff = Diff("1 value differs", changes=(change,))
    c = case("issue.list", "org-1", "mismatch", diff=diff, legacy=side(rows), new=side(changed))
    run = replace(passing_run(), pairs=(PairResult("issue.list", "issue", True, (c,)),))
    page = render_report(run, out_dir=tmp_path).read_text(encoding="utf-8")
    new_side = page[page.index('<div class="side side-new">') :]
    assert "… 30 rows not drawn" in new_side and "… 4 rows not drawn" in new_side
    assert "iss-org-1-35" in new_side and "iss-org-1-20" not in new_side
    assert '<mark class="hl">    &#34;title&#34;: &#34;renamed&#34;,</mark>' in new_side


def test_rebuild_from_results_json(tmp_path: Path) -> None:
    results = write_results(sample_run(), tmp_path / "reports" / "results.json")
    path = rebuild(results)
    assert path == tmp_path / "reports" / "index.html"
    page = path.read_text(encoding="utf-8")
    assert "issue.list" in page and "<code>[0].title</code>" in page
    assert SCRIPT not in page
    other = rebuild(results, tmp_path / "elsewhere")
    assert other == tmp_path / "elsewhere" / "index.html" and other.exists()


def test_rebuild_names_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(HarnessError, match="not a harness results file"):
        rebuild(bad)


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("[0].title", ("0", "title")),
        ("root[0]['title']", ("0", "title")),
        ("$[3].machine.name", ("3", "machine", "name")),
        ("createdAt", ("createdAt",)),
        ("rootCause", ("rootCause",)),
        ('["odd key"][2]', ("odd key", "2")),
        ("", ()),
    ],
)
def test_diff_paths_read_back_as_steps(path: str, tokens: tuple[str, ...]) -> None:
    assert steps(path) == tokens


def test_fixture_text_in_names_is_escaped(tmp_path: Path) -> None:
    run = sample_run()
    hostile = replace(run.pairs[0], name=f"issue.{SCRIPT}", router=HTML_TEXT)
    page = render_report(replace(run, pairs=(hostile, *run.pairs[1:])), out_dir=tmp_path)
    text = page.read_text(encoding="utf-8")
    assert SCRIPT not in text and "<b>&" not in text
    assert '<option value="&lt;b&gt;&amp;&#34;&#39;">' in text
