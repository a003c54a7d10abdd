"""The report in headless Chromium: filters, sorting, the diff, and fixture text that never runs.

Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package); Playwright drives it through
``executable_path``, so no ``playwright install`` (and no network) is needed. Without Chromium
the tests skip locally and fail under CI (``CI=true``), where a skip would hide a broken page.
Set ``HARNESS_WRITE_SCREENSHOT=1`` to refresh ``docs/report.png``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from report_samples import HTML_TEXT, SCRIPT, sample_run

from harness.report.html import render_report

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
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "report.png"
SCREENSHOT_MAX_BYTES = 300_000


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
    assert numbers == sorted(numbers) and len(numbers) == 7
    assert up[-1] == ""  # the pair without a latency goes last

    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    down = [float(r) for r in ratios() if r]
    assert down == sorted(numbers, reverse=True)
    assert page.locator("#pairs tbody tr").first.locator("td a").inner_text() == "comment.list"


def test_diff_shows_path_and_both_values(watched: tuple[Page, Watch], report_url: str) -> None:
    page, _ = watched
    page.goto(report_url)
    row = page.locator("#pair-0 table.changes tr", has_text="[0].title")
    assert row.is_visible()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "[0].title"
    assert cells[2] == '"Flipper 0 sticks <b>&\\"\'"'
    assert cells[3] == '"Flipper 0 sticks <b>&amp;\\"\'"'
    for side in ("legacy", "new"):
        marks = page.locator(f"#pair-0 .side-{side} mark.hl")
        assert marks.count() == 2  # [0].title and [2].resolvedAt
        assert marks.first.is_visible()
    error = page.locator("#pair-3 .error-box")
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
    page.locator("#expand-all").click()
    shown = page.get_by_text(SCRIPT).first
    assert shown.is_visible()
    assert page.locator("#pair-2 article .label").inner_text() == f"org-1,q={SCRIPT}"
    hidden = page.get_by_text(f"search={HTML_TEXT}").first  # an equal case: collapsed
    assert not hidden.is_visible()
    page.locator("#pair-5 details.compact > summary").click()
    assert hidden.is_visible()
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # ours only
    assert watch.dialogs == []
    assert watch.foreign == []
    assert watch.errors == []


def test_pair_link_opens_its_section(watched: tuple[Page, Watch], report_url: str) -> None:
    page, _ = watched
    page.goto(report_url)
    details = page.locator("#pair-1 > details")
    assert details.get_attribute("open") is None  # equal pairs start closed
    page.locator("#pairs a[href='#pair-1']").click()
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
    )
    assert run_direct(config) == 1
    return (out / "index.html").resolve().as_uri()


def test_screenshot(watched: tuple[Page, Watch], real_report_url: str, tmp_path: Path) -> None:
    page, watch = watched
    page.goto(real_report_url)
    shot = tmp_path / "report.png"
    page.screenshot(
        path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": 1500}
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < len(data) < SCREENSHOT_MAX_BYTES
    assert watch.foreign == [] and watch.errors == []
    if os.environ.get("HARNESS_WRITE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
