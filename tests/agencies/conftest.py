"""The agencies' command tests share the ``gateway`` command, run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli.main import cli
from tests.support import new_ed25519, public_jwks


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "cli-keys"


@pytest.fixture
def gateway(database_url: str, key_dir: Path, tmp_path: Path):
    """Runs ``gateway ARGS...`` in-process with the test database and a key folder of its own."""
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_KEY_DIR": str(key_dir),
            "GATEWAY_DEMO_DIR": str(tmp_path / "cli-demo"),
        }
    )

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input)

    return run


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency.jwks.json"
    path.write_text(public_jwks(new_ed25519()))
    return path
