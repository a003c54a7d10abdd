"""What is installed: one top-level import name, and a wheel that works beside a user's own code.

The wheel is built from this checkout and installed into a new virtual environment; the run
dependencies come from the running environment through a ``.pth`` line (installed after the
wheel's own site-packages, so the wheel's ``harness`` is the one imported, which the test checks).
The user project next to it owns a ``fixtures`` package, as many projects do.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCES = (".git", "build", "dist", "*.egg-info", ".tox", ".venv", "reports", "__pycache__")

USER_PAIRS = """
from fixtures.factories import greeting   # the user's own "fixtures" package
from harness import pair

hello = pair("mine.hello")

@hello.legacy
def _(ctx):
    return {"greeting": greeting(), "now": ctx.now}

@hello.new
def _(ctx):
    return {"greeting": greeting(), "now": ctx.now}
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # From a copy of the sources: setuptools reuses a build/ folder, and a stale one could hide
    # what the current configuration packs.
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("orm_shadow_harness-*.whl")
    return built


def test_the_wheel_claims_one_top_level_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"harness"}
    assert "harness/reference/models.py" in names  # the reference application, under harness
    assert "harness/pairs/issue.py" in names
    assert "harness/report/templates/report.html.j2" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_wheel_runs_next_to_a_project_with_its_own_fixtures_package(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    (purelib / "zz_run_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    project = tmp_path / "project"
    (project / "fixtures").mkdir(parents=True)
    (project / "fixtures" / "__init__.py").write_text("")
    (project / "fixtures" / "factories.py").write_text("def greeting():\n    return 'hi'\n")
    (project / "shadow_pairs.py").write_text(USER_PAIRS)
    (project / "pyproject.toml").write_text('[project]\nname = "user-app"\n\n[tool.harness]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTHON"))}

    where = subprocess.run(
        [str(python), "-c", "import harness; print(harness.__file__)"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(purelib)), where  # the wheel's harness, not this checkout's

    run = subprocess.run(
        [
            str(venv / "bin" / "harness"),
            "run",
            "--no-bench",
            "--pairs",
            "shadow_pairs.py",
            # Naming its own pairs turns the reference pairs off; this run wants both.
            "--include-default-pairs",
            "--report-dir",
            "out",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads((project / "out" / "results.json").read_text())
    statuses = {p["name"]: p["status"] for p in results["pairs"]}
    assert statuses["mine.hello"] == "equal"
    assert statuses["issue.list"] == "equal"  # the reference application, from the wheel
