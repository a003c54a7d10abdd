"""The report in headless Chromium: filters, sorting, the diff, and fixture text that never runs.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package); Playwright drives it through
``executable_path``, so no ``playwright install`` (and no network) is needed. Without Chromium
the tests skip locally and fail under CI (``CI=true``), where a skip would hide a broken page.
The page must read at a desktop's width and a phone's (360 px): nothing wider than the
viewport, wide tables scrolling in their own box. Set ``HARNESS_WRITE_SCREENSHOT=1`` to refresh
``docs/report.png`` and ``docs/report-phone.png``; the fixture's emoji and CJK text must show in
them, which needs fonts for it (Debian's ``fonts-noto-color-emoji`` and ``fonts-noto-cjk``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from report_samples import HTML_TEXT, SCRIPT, sample_run

from harness.report.html import pair_anchor, render_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
SCREENSHOTS = {"desktop": (1280, DOCS / "report.png"), "phone": (360, DOCS / "report-phone.png")}
WIDTHS = (1280, 390, 360)
# Text the fixture holds on purpose (fixtures/data.py): it must show as itself, not as boxes.
FIXTURE_GLYPHS = "🎯🎮👍日本語ピンボール倶楽部東京田中"
SCREENSHOT_MAX_BYTES = 400_000  # the desktop shot runs down to the first diff: about 300 KB
ISSUE_LIST = pair_anchor("issue.list")


def _unavailable(reason: str) -> None:
    """Skip locally; under CI a missing browser is a broken set-up, so fail instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}, and CI=true: install Chromium in the CI image "
            "(`apt-get install -y chromium`) so the report's browser tests run",
            pytrace=False,
        )
    pytest.skip(f"{reason}; install it (`apt-get install -y chromium`) to run the browser tests")


def test_chromium_is_installed_under_ci() -> None:
    """A real failure (not only fixture errors) when CI lacks the browser."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found")
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not executable"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = render_report(sample_run(), out_dir=tmp_path_factory.mktemp("report"))
    return path.resolve().as_uri()


@dataclass
class Watch:
    """What a page did besides drawing: dialogs, requests, script errors."""

    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # requests to anything but file://
    errors: list[str] = field(default_factory=list)

    def request(self, url: str) -> None:
        # Seen both by the route and the request event: count each address once.
        if not url.startswith(("file://", "data:", "about:")) and url not in self.foreign:
            self.foreign.append(url)


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watch = Watch()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_route(route: Route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            watch.request(url)
            route.abort()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    page.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: watch.request(req.url))
    page.route("**/*", on_route)
    yield page, watch
    context.close()


def _visible_pairs(page: Page) -> list[str]:
    return [
        row.locator("td a").inner_text()
        for row in page.locator("#pairs tbody tr").all()
        if row.is_visible()
    ]


def test_status_filter_hides_and_shows_rows(watched: tuple[Page, Watch], report_url: str) -> None:
    page, watch = watched
    page.goto(report_url)
    assert len(_visible_pairs(page)) == 8
    assert page.locator("#shown-count").inner_text() == "8 of 8 pairs shown"

    page.locator("input[name=status][value=equal]").uncheck()
    assert _visible_pairs(page) == [
        "issue.list",
        "issue.search",
        "machine.list",
        "location.list",
        "user.profile",
        "notification.unread",
    ]
    assert page.locator("#shown-count").inner_text() == "6 of 8 pairs shown"
    assert not page.locator("section.pair.st-equal").first.is_visible()  # sections follow

    page.locator("input[name=status][value=equal]").check()
    assert len(_visible_pairs(page)) == 8

    page.locator("#router-filter").select_option("machine")
    assert _visible_pairs(page) == ["machine.list"]
    page.locator("#router-filter").select_option("")
    page.locator("#failing-only").check()
    assert "user.profile" not in _visible_pairs(page)  # not gated: never fails
    assert "comment.list" in _visible_pairs(page)  # equal, but over its latency limit
    assert watch.errors == []


def test_sort_by_ratio(watched: tuple[Page, Watch], report_url: str) -> None:
    page, _ = watched
    page.goto(report_url)

    def ratios() -> list[str]:
        cells = page.locator("#pairs tbody tr td.ratio").all()
        return [cell.get_attribute("data-ratio") or "" for cell in cells]

    header = page.locator("#ratio-header")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    up = ratios()
    numbers = [float(r) for r in up if r]
    assert numbers == sorted(numbers) and len(numbers) == 6
    # Last: the pair without a latency, and the one whose case errored (no ratio to sort by).
    assert up[-2:] == ["", ""]

    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    down = [float(r) for r in ratios() if r]
    assert down == sorted(numbers, reverse=True)
    assert page.locator("#pairs tbody tr").first.locator("td a").inner_text() == "comment.list"


def test_diff_shows_path_and_both_values(watched: tuple[Page, Watch], report_url: str) -> None:
    page, _ = watched
    page.goto(report_url)
    row = page.locator(f"#{ISSUE_LIST} table.changes tr", has_text="[0].title")
    assert row.is_visible()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "[0].title"
    assert cells[2] == '"Flipper 0 sticks <b>&\\"\'"'
    assert cells[3] == '"Flipper 0 sticks <b>&amp;\\"\'"'
    for side in ("legacy", "new"):
        marks = page.locator(f"#{ISSUE_LIST} .side-{side} mark.hl")
        assert marks.count() == 2  # [0].title and [2].resolvedAt
        assert marks.first.is_visible()
    error = page.locator(f"#{pair_anchor('machine.list')} .error-box")
    assert error.is_visible()
    assert "new side raised OperationalError" in error.inner_text()


def test_fixture_script_is_text_and_never_runs(
    watched: tuple[Page, Watch], report_url: str
) -> None:
    page, watch = watched
    # The watch works: the same text in a page that does not escape it opens a dialog.
    page.set_content(f'<p>{SCRIPT}</p><img src="http://example.invalid/x.png">')
    assert watch.dialogs == ["1"]
    assert watch.foreign == ["http://example.invalid/x.png"]
    for seen in (watch.dialogs, watch.foreign, watch.errors):
        seen.clear()  # the aborted image logged an error too

    page.goto(report_url)
    hidden = page.get_by_text(f"search={HTML_TEXT}").first  # an equal case: collapsed
    assert not hidden.is_visible()
    page.locator(f"#{pair_anchor('comment.list')} details.compact > summary").click()
    assert hidden.is_visible()
    page.locator("#expand-all").click()
    shown = page.get_by_text(SCRIPT).first
    assert shown.is_visible()
    assert (
        page.locator(f"#{pair_anchor('issue.search')} article .label").inner_text()
        == f"org-1,q={SCRIPT}"
    )
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # ours only
    assert watch.dialogs == []
    assert watch.foreign == []
    assert watch.errors == []


def test_pair_link_opens_its_section(watched: tuple[Page, Watch], report_url: str) -> None:
    page, _ = watched
    page.goto(report_url)
    anchor = pair_anchor("issue.get")
    details = page.locator(f"#{anchor} > details")
    assert details.get_attribute("open") is None  # equal pairs start closed
    page.locator(f"#pairs a[href='#{anchor}']").click()
    assert details.get_attribute("open") == ""
    page.locator("#collapse-all").click()
    assert page.locator("section.pair > details[open]").count() == 0


@pytest.fixture(scope="module")
def real_report_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The report of a real run: planted bugs and good pairs on a real SQLite fixture."""
    from harness.drive import run_direct
    from harness.settings import HarnessConfig

    modules = Path(__file__).parent / "pair_modules"
    out = tmp_path_factory.mktemp("real-report")
    config = HarnessConfig(
        pairs=(str(modules / "planted.py"), str(modules / "good.py")),
        only=("planted.*", "good.*"),
        report_dir=out,
        bench_time=0.05,
        baseline=None,
        order_seed=1,
        include_default_pairs=False,
        max_latency_ratio=2.0,  # so the chart draws its limit lines
    )
    assert run_direct(config) == 1
    return (out / "index.html").resolve().as_uri()


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _too_wide(page: Page) -> list[str]:
    """The elements reaching past the viewport outside a box of their own (for the message)."""
    return list(
        page.evaluate(
            """() => Array.from(document.querySelectorAll("body *"))
              .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5
                             && !e.parentElement.closest(".scroll, pre, .reasons"))
              .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`)"""
        )
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_page_fits_the_viewport(
    watched: tuple[Page, Watch], report_url: str, real_report_url: str, width: int
) -> None:
    page, watch = watched
    page.set_viewport_size({"width": width, "height": 800})
    for url in (report_url, real_report_url):
        page.goto(url)
        assert _page_width(page) <= width, f"{url} as opened: {_too_wide(page)}"
        page.locator("#expand-all").click()  # every case, result, SQL statement and traceback
        assert _page_width(page) <= width, f"{url} expanded: {_too_wide(page)}"
        chart = page.locator("#latency-chart").bounding_box()
        assert chart is not None and chart["x"] >= 0 and chart["x"] + chart["width"] <= width
    assert watch.errors == []


@pytest.mark.parametrize("width", [1400, 360])
def test_latency_chart_scales_with_the_page(
    watched: tuple[Page, Watch], report_url: str, width: int
) -> None:
    page, _ = watched
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(report_url)
    row = page.locator(f"#latency-chart li:has(a[href='#{ISSUE_LIST}'])")
    track = row.locator(".track").nth(1).bounding_box()
    bar = row.locator(".bar-new").bounding_box()
    limit = row.locator(".limit").bounding_box()
    assert track and bar and limit
    assert track["width"] > 0.2 * width  # the plot takes its share of any width
    assert bar["width"] / track["width"] == pytest.approx(0.2444, abs=0.01)  # 1.10 of 4.5 ms
    assert (limit["x"] - track["x"]) / track["width"] == pytest.approx(0.80, abs=0.01)
    assert row.locator(".chart-name a").is_visible()


def test_wide_tables_scroll_in_their_own_box_on_a_phone(
    watched: tuple[Page, Watch], report_url: str
) -> None:
    page, _ = watched
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(report_url)
    box = page.locator("#pairs-box")
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")  # the table is wider than 360 px
    box.evaluate("b => { b.scrollLeft = 200; }")
    assert box.evaluate("b => b.scrollLeft") > 0
    assert page.evaluate("window.scrollX") == 0 and _page_width(page) <= 360


def test_expand_all_opens_every_fold_including_sql(
    watched: tuple[Page, Watch], report_url: str
) -> None:
    page, _ = watched
    page.goto(report_url)
    closed = page.locator("#details details:not([open])")
    assert closed.count() > 10
    sql = page.locator(f"#{ISSUE_LIST} .stmts pre.sql").first
    traceback = page.locator(f"#{pair_anchor('machine.list')} pre.traceback")
    assert not sql.is_visible() and not traceback.is_visible()
    page.locator("#expand-all").click()
    assert closed.count() == 0
    assert sql.is_visible() and traceback.is_visible()
    assert page.locator(f"#{pair_anchor('issue.get')} table.cases").is_visible()  # equal cases
    page.locator("#collapse-all").click()
    assert page.locator("#details details[open]").count() == 0


def test_fonts_cover_the_fixtures_emoji_and_cjk() -> None:
    """Chromium draws with fontconfig's fonts; without these, screenshots show boxes."""
    if shutil.which("fc-list") is None:
        _unavailable("fc-list (fontconfig) not found")
    missing = [
        ch
        for ch in FIXTURE_GLYPHS
        if not subprocess.run(
            ["fc-list", f":charset={ord(ch):x}", "family"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    ]
    if missing:
        _unavailable(
            f"no font has {''.join(missing)!r}: install fonts-noto-color-emoji and fonts-noto-cjk"
        )


@pytest.mark.parametrize("device", SCREENSHOTS)
def test_screenshot(
    watched: tuple[Page, Watch], real_report_url: str, tmp_path: Path, device: str
) -> None:
    page, watch = watched
    width, target = SCREENSHOTS[device]
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(real_report_url)
    assert _page_width(page) <= width, _too_wide(page)
    # Down to the first diff's rows with the fixture's emoji and CJK titles, so they show.
    rows = [
        page.locator("table.changes tr", has_text=text).first.bounding_box()
        for text in ("🎯", "日本語")
    ]
    assert all(rows), "the fixture's emoji and CJK titles are in the first diff"
    bottom = max(r["y"] + r["height"] for r in rows if r) + 12
    shot = tmp_path / target.name
    page.screenshot(
        path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": bottom}
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < len(data) < SCREENSHOT_MAX_BYTES
    assert watch.foreign == [] and watch.errors == []
    if os.environ.get("HARNESS_WRITE_SCREENSHOT") == "1":
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)
