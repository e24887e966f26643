"""``gateway client-key``: a key pair for a client made by the gateway itself, from nothing to
a token for a non-demo agency."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.client import AgencyKey, TokenSource
from tests.agencies.test_cli import refused, succeeded


@pytest.mark.parametrize("curve", ["Ed25519", "P-256"])
def test_a_key_pair_made_by_the_gateway_registers_a_client_that_gets_a_token(
    gateway, live_server, tmp_path: Path, curve: str
):
    """From nothing to a token for a non-demo agency, with the gateway's own tools only."""
    keys = tmp_path / "keys"
    made = succeeded(
        gateway("client-key", "--id", "koeln-jobcenter", "--out", str(keys), "--curve", curve)
    )
    key_file, jwks_file = keys / "koeln-jobcenter.key.json", keys / "koeln-jobcenter.jwks.json"
    assert str(key_file) in made
    assert key_file.stat().st_mode & 0o777 == 0o600  # the owner's alone
    assert '"d"' not in jwks_file.read_text()  # the public set carries no private part
    succeeded(
        gateway(
            "agency", "add", "--id", "koeln-jobcenter", "--kind", "job_centre",
            "--municipality", "koeln", "--name", "Jobcenter Köln", "--jwks", str(jwks_file),
        )
    )  # fmt: skip
    key = AgencyKey.from_jwk_file("koeln-jobcenter", key_file)
    with TokenSource(live_server.token_endpoint, key) as tokens:
        me = httpx.get(
            f"{live_server.url}/v1/me", headers={"Authorization": f"Bearer {tokens.token()}"}
        )
    assert (me.status_code, me.json()["client_id"]) == (200, "koeln-jobcenter")


def test_a_key_pair_never_overwrites_a_key(gateway, tmp_path: Path):
    succeeded(gateway("client-key", "--id", "koeln-jobcenter", "--out", str(tmp_path)))
    before = (tmp_path / "koeln-jobcenter.key.json").read_text()
    assert "exists" in refused(
        gateway("client-key", "--id", "koeln-jobcenter", "--out", str(tmp_path))
    )
    assert (tmp_path / "koeln-jobcenter.key.json").read_text() == before
