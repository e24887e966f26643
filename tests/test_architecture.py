"""Lines the layout promises (STYLE.md): the consent domain stays free of the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import consent

WEB_FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "httpx", "httpx2"}


def test_the_consent_package_imports_no_web_framework():
    root = Path(consent.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in WEB_FRAMEWORKS]
    assert list(root.rglob("*.py")), "the consent package has modules"
    assert offenders == []


def test_routes_hold_no_sql():
    gateway = Path(consent.__file__).parent.parent / "gateway"
    for path in gateway.rglob("routes.py"):
        source = path.read_text()
        for marker in ("select(", "session.execute", "session.add", ".commit("):
            assert marker not in source, f"{path}: {marker}"
