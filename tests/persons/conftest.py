"""The live city of the adversarial tests, and the operator's ``gateway`` command beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adversarial.conftest import city
from tests.keys.operator import Command, command_line

__all__ = ["city"]


@pytest.fixture
def gateway(city, tmp_path: Path) -> Command:  # type: ignore[no-untyped-def]
    return command_line(city.runtime.settings, tmp_path)
