"""The gateway remembers which access tokens it has verified (``AccessTokens``): a token seen
again skips only the signature check; expiry and the signing key's standing are checked every
time, and a token that failed is never remembered."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt

from gateway.auth import tokens as tokens_module
from gateway.auth.tokens import AccessTokens, InvalidAccessToken, issue_access_token
from gateway.keys.store import KeyStore
from tests.support import new_ed25519

ISSUER = "http://localhost"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys", grace=timedelta(seconds=330), reload_interval=0)
    store.ensure()
    return store


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature is checked, in order."""
    checked: list[str] = []
    decode = jwt.decode

    def counting(token, *args, **kwargs):  # type: ignore[no-untyped-def]
        checked.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(tokens_module.jwt, "decode", counting)
    return checked


def _checker(keys: KeyStore, remember: int = 4096) -> AccessTokens:
    return AccessTokens(keys, issuer=ISSUER, audience=ISSUER, leeway=0, remember=remember)


def _issue(keys: KeyStore, client_id: str = "koeln-jobcenter", lifetime: int = 300) -> str:
    return issue_access_token(
        keys,
        issuer=ISSUER,
        audience=ISSUER,
        client_id=client_id,
        scope="exchange:query",
        lifetime=lifetime,
    )


def test_a_token_seen_again_is_not_verified_again(keys, signature_checks):
    checker, token = _checker(keys), _issue(keys)
    first = checker.verify(token)
    assert checker.verify(token) == first
    assert first["client_id"] == "koeln-jobcenter"
    assert signature_checks == [token]


def test_a_remembered_token_still_expires(keys, signature_checks, monkeypatch):
    checker, token = _checker(keys), _issue(keys, lifetime=60)
    checker.verify(token)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidAccessToken, match="the token has expired"):
        checker.verify(token)


def test_a_remembered_token_of_a_key_retired_past_its_grace_is_refused(keys, signature_checks):
    checker, token = _checker(keys), _issue(keys)
    checker.verify(token)
    # Retired so long ago that its grace is over (issuing an hour back, in effect).
    keys.rotate(now=datetime.now(UTC) - timedelta(hours=1))
    keys.rotate()
    with pytest.raises(InvalidAccessToken, match="not signed by a key of this gateway"):
        checker.verify(token)


def test_a_remembered_token_of_a_key_still_in_its_grace_is_accepted(keys, signature_checks):
    checker, token = _checker(keys), _issue(keys)
    checker.verify(token)
    keys.rotate()
    assert checker.verify(token)["client_id"] == "koeln-jobcenter"
    assert signature_checks == [token]


def test_a_token_that_failed_is_checked_again_every_time(keys, signature_checks):
    checker = _checker(keys)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": ISSUER, "sub": "x", "client_id": "x", "jti": "j",
              "iat": now, "exp": now + 300}  # fmt: skip
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": keys.active_kid()}
    forged = jwt.encode(header, claims, new_ed25519(), algorithms=["Ed25519"])
    for _ in range(2):
        with pytest.raises(InvalidAccessToken, match="signature does not verify"):
            checker.verify(forged)
    assert signature_checks == [forged, forged]


def test_only_so_many_tokens_are_remembered_the_oldest_forgotten_first(keys, signature_checks):
    checker = _checker(keys, remember=2)
    first, second, third = (_issue(keys, f"agency-{n}") for n in range(3))
    for token in (first, second, third, third, second, first):
        checker.verify(token)
    assert signature_checks == [first, second, third, first]


def test_a_token_whose_claims_fail_is_not_remembered(keys, signature_checks):
    """Its signature verifies, but it is for another audience (the kind of token the gateway
    gives a provider): refused, and checked in full the next time too."""
    checker = _checker(keys)
    elsewhere = issue_access_token(
        keys,
        issuer=ISSUER,
        audience="koeln-auslaenderbehoerde",
        client_id="gateway",
        scope="gateway:fetch",
        lifetime=60,
    )
    for _ in range(2):
        with pytest.raises(InvalidAccessToken, match="another audience"):
            checker.verify(elsewhere)
    assert signature_checks == [elsewhere, elsewhere]
