"""Check what a built wheel (and optionally sdist) of django-livechat-api contains.

Usage: python scripts/check_wheel.py DIST_FILE...   (.whl files, and optionally .tar.gz sdists)

The wheel must carry ``django_livechat/py.typed``, the migrations, every template and static file
of the source tree, and nothing from ``tests/``, ``example_project/``, ``bench/`` or ``docs/``.
An sdist must carry the same package files plus README.md, LICENSE and CHANGELOG.md.
Exits 1 and lists the problems if anything is wrong.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_livechat"
FORBIDDEN_TOP_LEVEL = ("tests", "example_project", "bench", "docs", "scripts")


def source_files(subdir: str) -> set[str]:
    """Files under django_livechat/<subdir> in the source tree, as archive paths."""
    base = ROOT / PACKAGE / subdir
    if not base.is_dir():
        return set()
    return {
        path.relative_to(ROOT).as_posix()
        for path in base.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def expected_package_files() -> set[str]:
    migrations = {
        path.relative_to(ROOT).as_posix() for path in (ROOT / PACKAGE / "migrations").glob("*.py")
    }
    return (
        {f"{PACKAGE}/__init__.py", f"{PACKAGE}/py.typed"}
        | migrations
        | source_files("templates")
        | source_files("static")
    )


def check(names: set[str], label: str, required: set[str]) -> list[str]:
    problems = [f"{label}: missing {name}" for name in sorted(required - names)]
    if not any(
        name.startswith(f"{PACKAGE}/migrations/0") and name.endswith(".py") for name in names
    ):
        problems.append(f"{label}: no migration files ({PACKAGE}/migrations/0*.py)")
    for name in sorted(names):
        top = name.split("/", 1)[0]
        if top in FORBIDDEN_TOP_LEVEL or "__pycache__" in name or name.endswith(".pyc"):
            problems.append(f"{label}: must not contain {name}")
    return problems


def wheel_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as wheel:
        return {name for name in wheel.namelist() if not name.endswith("/")}


def sdist_names(path: Path) -> set[str]:
    with tarfile.open(path) as sdist:
        # Strip the leading "django_livechat_api-0.1.0/" directory.
        return {
            member.name.split("/", 1)[1]
            for member in sdist.getmembers()
            if member.isfile() and "/" in member.name
        }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    required = expected_package_files()
    problems: list[str] = []
    for arg in argv:
        path = Path(arg)
        if path.suffix == ".whl":
            names = wheel_names(path)
            problems += check(names, path.name, required)
        elif path.name.endswith(".tar.gz"):
            names = sdist_names(path)
            problems += check(names, path.name, required | {"README.md", "LICENSE", "CHANGELOG.md"})
        else:
            problems.append(f"{path.name}: not a wheel or an sdist")
            continue
        templates = sum(1 for n in names if n.startswith(f"{PACKAGE}/templates/"))
        print(f"{path.name}: {len(names)} files, {templates} templates")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    if problems:
        return 1
    print("wheel contents OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
