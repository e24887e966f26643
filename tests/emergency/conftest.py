"""Emergency tests run in the exchange tests' world (``tests.exchange.conftest``)."""

from __future__ import annotations

import pytest

from tests.emergency.world import Emergency
from tests.exchange.conftest import gateway_settings, provider_timeout, world
from tests.exchange.world import World

__all__ = ["gateway_settings", "provider_timeout", "world"]


@pytest.fixture
def emergency(world: World) -> Emergency:
    return Emergency(world)
