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


GATEWAY = Path(consent.__file__).parent.parent / "gateway"
RELEASE_CORE = GATEWAY / "release" / "core.py"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_consent_registry_knows_nothing_of_messages_exchanges_releases_or_pages():
    """A withdrawal's effects reach the rest of the gateway only through consents/effects.py."""
    forbidden = ("gateway.messages", "gateway.exchange", "gateway.release", "gateway.web")
    offenders = [
        f"{path.name}: {name}"
        for path in (GATEWAY / "consents").glob("*.py")
        for name in _imports(path)
        if name.startswith(forbidden)
    ]
    assert list((GATEWAY / "consents").glob("*.py")), "the consents feature has modules"
    assert offenders == []


def test_only_the_release_core_writes_the_release_ledger():
    writers = []
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and (node.func.value.id, node.func.attr) == ("ledger", "add")
            ):
                writers.append(path)
    assert writers == [RELEASE_CORE]
    # Others may read the ledger (the monitoring office's figures); none makes a row of it.
    makers = [
        path
        for path in GATEWAY.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Release"
    ]
    assert makers == []


def test_only_the_release_core_makes_release_entries():
    """Every ``exchange.decided``, ``message.sent`` and ``message.fetched`` entry, permit or
    refusal, is made in the release core, next to its ledger row."""
    release_events = {"EXCHANGE_DECIDED", "MESSAGE_SENT", "MESSAGE_FETCHED"}
    makers = set()
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "EventType"
                and node.attr in release_events
            ):
                makers.add(path.relative_to(GATEWAY).as_posix())
    # Readers name these types to find entries; none of them makes an AuditEvent of one.
    for reader in makers - {"release/core.py"}:
        tree = ast.parse((GATEWAY / reader).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AuditEvent":
                first = node.args[0] if node.args else None
                assert not (isinstance(first, ast.Attribute) and first.attr in release_events), (
                    f"{reader} makes a release entry"
                )
    assert "release/core.py" in makers
