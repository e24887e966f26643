"""Every distribution the package declares is one it uses: a dependency nothing imports is dead
weight in every install and every security review."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("gateway", "consent")

# Distributions whose import name is not their name in lower case with "-" as "_".
IMPORT_NAMES = {"pyyaml": "yaml"}

# Distributions the package needs although none of its modules imports them. (Extras such as
# uvicorn[standard] or psycopg[binary] come with a distribution that is imported.)
NEEDED_WITHOUT_IMPORT = {
    # FastAPI and Starlette parse form posts (the token endpoint, the portal and DPO pages)
    # with it, and import it themselves when a request's form is read.
    "python-multipart",
    # authlib's httpx integration, which the agency SDK's token client uses
    # (gateway/client/auth.py), imports it itself; without it authlib falls back to httpx and
    # warns, at every `gateway demo token`, that this is deprecated.
    "httpx2",
    # The IANA time zones, which the standard library's zoneinfo reads from this package when
    # the system has none (slim containers): GATEWAY_TIME_ZONE must resolve everywhere.
    "tzdata",
}


def declared() -> list[str]:
    """The names of ``[project.dependencies]``, normalised (PEP 503), without versions,
    extras or markers."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = []
    for requirement in project["dependencies"]:
        matched = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert matched, f"cannot read the requirement {requirement!r}"
        names.append(re.sub(r"[-_.]+", "-", matched[1]).lower())
    return names


def import_name(distribution: str) -> str:
    return IMPORT_NAMES.get(distribution, distribution.replace("-", "_"))


def imported() -> set[str]:
    """The top-level names the packages import, anywhere in a module."""
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names)


def test_every_declared_dependency_is_imported_by_the_package():
    names = imported()
    assert {"fastapi", "sqlalchemy", "yaml"} <= names  # the walk found the packages' imports
    unused = [
        distribution
        for distribution in declared()
        if distribution not in NEEDED_WITHOUT_IMPORT and import_name(distribution) not in names
    ]
    assert unused == [], "declared in pyproject.toml, imported nowhere in gateway/ or consent/"


def test_the_exceptions_are_declared_and_really_not_imported():
    """An exception that is no longer declared, or that the package now imports, is stale."""
    names = imported()
    for distribution in NEEDED_WITHOUT_IMPORT:
        assert distribution in declared()
        assert import_name(distribution) not in names


def test_everything_the_package_imports_is_declared():
    """A distribution used only because another one happens to pull it in (Starlette under
    FastAPI) breaks the day that one stops: what the package imports, it declares."""
    declared_imports = {import_name(distribution) for distribution in declared()}
    undeclared = sorted(imported() - declared_imports - set(PACKAGES))
    assert undeclared == [], "imported by gateway/ or consent/, not declared in pyproject.toml"
