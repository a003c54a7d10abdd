"""The README's "Adopting the harness" tutorial, executed block by block in a fresh project.

A project of its own (its models in both ORMs, no ``fixtures`` package of ours) is built in a
temporary folder outside the repository from the README's fenced blocks: a block titled
``title="PATH"`` is written to that file (``append`` adds to it), a ``console`` block's ``$``
lines are run there and must exit 0, or the status their ``# exits N`` comment gives. So
``harness init``, ``harness run`` and ``pytest --harness`` (by path, by ``-k``, by node id) give
the verdicts the tutorial promises, on every database, and the tutorial cannot rot.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
TITLE = re.compile(r'title="([^"]+)"')
EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")


@dataclass(frozen=True)
class Step:
    """A file to write (``path``, ``text``, ``append``) or a command to run (``argv``, ``status``)."""

    path: str | None = None
    text: str = ""
    append: bool = False
    argv: tuple[str, ...] = ()
    status: int = 0


def tutorial_steps(readme: str) -> list[Step]:
    """The steps of the README's "Adopting the harness" section, in order."""
    start = readme.index("## Adopting the harness")
    end = readme.index("\n## ", start + 1)
    steps: list[Step] = []
    for match in FENCE.finditer(readme[start:end]):
        language, info, body = match.groups()
        title = TITLE.search(info)
        if title:
            steps.append(Step(path=title.group(1), text=body, append="append" in info.split()))
        elif language == "console":
            for line in body.splitlines():
                if not line.startswith("$ "):
                    continue
                command = line[2:]
                exits = EXITS.search(command)
                command = EXITS.sub("", command)
                steps.append(
                    Step(
                        argv=tuple(shlex.split(command)), status=int(exits.group(1)) if exits else 0
                    )
                )
    return steps


def test_the_tutorial_has_files_and_commands() -> None:
    steps = tutorial_steps(README.read_text(encoding="utf-8"))
    commands = [" ".join(s.argv) for s in steps if s.argv]
    assert any(c.startswith("harness init") for c in commands)
    assert any("::" in c for c in commands), "the tutorial selects an item by node id"
    assert any(s.status == 1 for s in steps), "the tutorial plants a failing pair"
    assert {s.path for s in steps if s.path} >= {
        "myapp/models.py",
        "myapp/orm.py",
        "pyproject.toml",
    }


def _run(argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    program = {
        "harness": [sys.executable, "-m", "harness"],
        "pytest": [sys.executable, "-m", "pytest"],
    }
    head = program.get(argv[0])
    assert head is not None, f"the tutorial runs only harness and pytest, not {argv[0]}"
    return subprocess.run(
        [*head, *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_tutorial_runs_as_written(tmp_path: Path, db_url: str | None) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if db_url:
        env["HARNESS_DATABASE_URL"] = db_url  # the environment, as CI passes it
    for step in tutorial_steps(README.read_text(encoding="utf-8")):
        if step.path is not None:
            target = project / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            before = target.read_text(encoding="utf-8") if step.append and target.exists() else ""
            target.write_text(before + step.text, encoding="utf-8")
            continue
        done = _run(step.argv, project, env)
        shown = f"$ {' '.join(step.argv)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert done.returncode == step.status, shown
        if step.argv[0] == "pytest" and "::" in " ".join(step.argv) and step.status == 0:
            assert "1 passed" in done.stdout, shown  # the node id selected exactly one item
        if step.status == 1:
            assert "task.late" in done.stdout, shown
    if db_url:
        results = (project / "reports" / "results.json").read_text(encoding="utf-8")
        assert '"dialect": "' + ("postgresql" if "postgresql" in db_url else "mysql") in results


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\nfixture = "x:y"\n')
    (tmp_path / "mod_models.py").write_text(
        "import peewee as pw\n\nclass Thing(pw.Model):\n    name = pw.CharField()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    done = _run(("harness", "init", "--models", "mod_models"), tmp_path, env)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "already has a [tool.harness]" in done.stderr
    assert (tmp_path / "pyproject.toml").read_text() == '[tool.harness]\nfixture = "x:y"\n'
    assert not (tmp_path / "shadow").exists()


@pytest.mark.parametrize("missing", ["nope.models", "mod_models"])
def test_init_names_a_module_it_cannot_use(tmp_path: Path, missing: str) -> None:
    (tmp_path / "mod_models.py").write_text("X = 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HARNESS_"))}
    done = _run(("harness", "init", "--models", missing), tmp_path, env)
    assert done.returncode == 2 and f"--models {missing}" in done.stderr
    assert "Traceback" not in done.stderr
