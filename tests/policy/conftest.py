"""A DPO's token, for the policy routes (scope policy:read)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.agencies.tables import ClientRole
from tests.support import Clients, client_assertion, token_form


@pytest.fixture
def dpo(http: TestClient, clients: Clients) -> dict[str, str]:
    client = clients.other("city-dpo", ClientRole.DPO)
    form = token_form(client_assertion(client.id, client.key, "http://localhost/oauth/token"))
    return {
        "Authorization": f"Bearer {http.post('/oauth/token', data=form).json()['access_token']}"
    }
