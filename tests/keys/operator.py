"""The operator beside a running gateway, for the tests of key rotation: ``gateway`` commands
run in-process on the same database and key folder, and a clock for the key folder. Its
fixtures (``operator``, ``key_clock``) are registered for every test by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli.main import cli
from gateway.keys import folder
from gateway.messages import sealing
from gateway.settings import Settings

Command = Callable[..., Result]


def command_line(settings: Settings, tmp_path: Path) -> Command:
    """Runs ``gateway ARGS...`` in-process, as an operator beside the running gateway: the same
    database and key folder."""
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
            "GATEWAY_DEMO_DIR": str(tmp_path / "cli-demo"),
            "GATEWAY_ISSUER": settings.issuer,
        }
    )

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input)

    return run


def rotate(gateway: Command) -> str:
    result = gateway("keys", "rotate")
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result.output


def key_folder_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Moves the key folder's clock (when keys are made, retired and erased) forward."""
    offset = timedelta(0)

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            moment = datetime.now(tz) + offset
            return cls.fromtimestamp(moment.timestamp(), tz)

    def advance(by: timedelta) -> None:
        nonlocal offset
        offset += by

    for module in (sealing, folder):  # erasing (sealing), making and retiring (folder)
        monkeypatch.setattr(module, "datetime", Later)
    return advance


@pytest.fixture
def operator(settings: Settings, tmp_path: Path) -> Command:
    """``gateway ARGS...`` as the operator runs it beside the test's gateway."""
    return command_line(settings, tmp_path)


@pytest.fixture
def key_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """The key folder's clock, to move forward."""
    return key_folder_clock(monkeypatch)


def key_files(settings: Settings) -> set[str]:
    """The key-encryption keys in the key folder, by id."""
    return {path.stem for path in (settings.key_dir / "messages").glob("*.json")}
