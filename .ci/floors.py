"""The dependency floors of pyproject.toml as pip constraints, and a check that they are installed.

    python .ci/floors.py pyproject.toml floors.txt     # write `name==floor` for every `name>=floor`
    python .ci/floors.py --check pyproject.toml        # fail unless each installed version is its floor

Used by tox's `floors` environment, so the floors it proves are the ones the project declares.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)\s*$")


def floors(pyproject: Path) -> dict[str, str]:
    """``{distribution: floor}`` for every ``name>=floor`` requirement, extras included."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found: dict[str, str] = {}
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        if match and match.group(1) != project["name"]:
            found[match.group(1).lower()] = match.group(2)
    return found


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        wrong = []
        for name, floor in floors(Path(argv[1])).items():
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue  # an extra this environment does not install (tox, say)
            if installed.split("+")[0] != floor and not installed.startswith(floor + ".0"):
                wrong.append(f"{name} {installed} (floor {floor})")
        if wrong:
            print("floors: not at their floor: " + ", ".join(wrong), file=sys.stderr)
            return 1
        print("floors: every installed dependency is at its declared floor")
        return 0
    pyproject, out = Path(argv[0]), Path(argv[1])
    out.write_text("".join(f"{n}=={v}\n" for n, v in sorted(floors(pyproject).items())))
    print(f"floors: {out}: " + ", ".join(f"{n}=={v}" for n, v in sorted(floors(pyproject).items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
