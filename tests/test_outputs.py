"""Passwords never shown, strict results.json with the report's file mode, typed configuration,
stale baseline entries of pairs that no longer exist.
"""

from __future__ import annotations

import json
import math
import stat
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require, url_for
from harness.errors import ConfigError
from harness.gate.baseline import Baseline, BaselineEntry, apply_baseline, update_baseline
from harness.records import RunResult
from harness.report.publish import publish
from harness.settings import read_pyproject, resolve
from harness.url import mask_url, parse_url

MODULES = Path(__file__).parent / "pair_modules"
HARNESS = (sys.executable, "-m", "harness")
# Distinctive passwords of printable characters: long enough that finding one by chance in an
# output is impossible, any character a user might type (the URL syntax's own included).
PASSWORDS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF, exclude_characters="%"),
    min_size=8,
    max_size=24,
).map(lambda s: "Zq" + s)


def forms(password: str) -> set[str]:
    """How a password could show: as typed, percent-encoded, and its longest encoded-free run."""
    return {password, quote(password, safe=""), quote(password)}


@given(password=PASSWORDS, encoded=st.booleans())
@settings(max_examples=300, deadline=None)
def test_masking_hides_any_password(password: str, encoded: bool) -> None:
    written = quote(password, safe="") if encoded else password
    url = f"postgresql://app:{written}@db.example:5432/prod?sslmode=require&password={written}"
    masked = mask_url(url)
    shown = masked + str(parse_url(url)) + repr(parse_url(url))
    assert not any(form in shown for form in forms(password))
    if encoded:  # a correctly written URL: the password used is the one given
        assert masked.startswith("postgresql://app:***@db.example:5432/prod")
        assert parse_url(url).password == password


@given(password=PASSWORDS)
@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_run_never_shows_its_password(
    password: str, tmp_path_factory: pytest.TempPathFactory, pytester: pytest.Pytester
) -> None:
    """stdout, stderr, results.json, the report and JUnit, on a real server (trust auth)."""
    require("postgresql")
    server = url_for("postgresql")
    assert server is not None
    spec = parse_url(server)
    url = f"postgresql://{spec.user}:{quote(password, safe='')}@{spec.host}:{spec.port or 5432}/{spec.database}"
    out = tmp_path_factory.mktemp("run")
    pytester.makepyprojecttoml("[tool.harness]\ninclude_default_pairs = false\n")
    pairs = str(MODULES / "faults.py")
    common = ["--pairs", pairs, "--only", "faults.after", "--no-bench"]
    ran = pytester.run(*HARNESS, "run", "--db", url, *common, "--report-dir", str(out / "cli"))
    bad = pytester.run(*HARNESS, "run", "--db", url.replace(f":{spec.port or 5432}/", ":1/"))
    junit = out / "junit.xml"
    under_pytest = pytester.runpytest_subprocess(
        "--harness",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "--harness-db",
        url,
        "--harness-pairs",
        pairs,
        "--harness-only",
        "faults.after",
        "--harness-no-bench",
        "--harness-report-dir",
        str(out / "pytest"),
    )
    assert ran.ret == 0 and under_pytest.ret == 0 and bad.ret == 2
    texts = ["\n".join(r.outlines + r.errlines) for r in (ran, bad, under_pytest)] + [
        (out / d / f).read_text(encoding="utf-8")
        for d in ("cli", "pytest")
        for f in ("results.json", "index.html")
    ]
    texts.append(junit.read_text(encoding="utf-8"))
    for text in texts:
        assert not any(form in text for form in forms(password))
    assert "***" in (out / "cli" / "results.json").read_text(encoding="utf-8")


def test_results_json_is_strict_and_has_the_reports_mode(tmp_path: Path) -> None:
    result = RunResult(
        harness_version="t",
        dialect="sqlite",
        url="sqlite:///x",
        pairs=(),
        run={"values": [math.nan, math.inf, -math.inf, 1.5]},
    )
    publish(result, tmp_path)

    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=refuse)
    assert data["run"]["values"] == ["NaN", "Infinity", "-Infinity", 1.5]
    mode = stat.S_IMODE((tmp_path / "results.json").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "index.html").stat().st_mode)
    assert mode & 0o044  # readable by others, as the report is (not mkstemp's 0600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "results.json"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("report_dir", ["a", "b"]), ("seed", 1.7), ("tenants", 2.5), ("bench_time", True)],
)
def test_wrongly_typed_project_values_are_refused_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"\[tool\.harness\] {key}: .*not valid"):
        resolve({}, project={key: value}, project_file=Path("pyproject.toml"))


def test_a_pyproject_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.harness]\nreport_dir = '\xff\xfe'\n")
    with pytest.raises(ConfigError, match="not UTF-8") as raised:
        read_pyproject(tmp_path)
    assert "\n" not in str(raised.value)


def test_a_baseline_entry_of_a_pair_that_is_gone_is_stale_and_update_drops_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "harness-baseline.json"
    gone = BaselineEntry("renamed.pair", "case0", "sha256:0", "", "accepted once")
    result = RunResult(
        harness_version="t",
        dialect="sqlite",
        url="sqlite:///x",
        pairs=(),
        run={"registered_pairs": ["still.here"]},
    )
    judged = apply_baseline(result, Baseline(path=path, entries=(gone,), exists=True))
    assert not judged.gate_passed
    assert "renamed.pair[case0] is stale: no pair of that name" in judged.gate_reasons[0]
    path.write_text(json.dumps({"entries": [gone.to_json()]}))
    assert update_baseline(result, path) == (0, 0, 1)
    assert json.loads(path.read_text())["entries"] == []
