"""Client credentials the registry keeps: the public JWK sets it accepts, and secret hashes."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from gateway.agencies.credentials import (
    CredentialError,
    hash_secret,
    parse_public_jwks,
    verify_secret,
)
from tests.support import new_ed25519, new_es256

SECRET = "gws_" + "s3cret-long-enough-for-the-registry-0123"


def jwks_text(*members: Any) -> str:
    return json.dumps({"keys": list(members)})


def rfc7638_thumbprint(jwk: dict[str, Any]) -> str:
    """The thumbprint computed by hand from RFC 7638 §3.2, not by the library under test."""
    required = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in required}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def without_kid(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in jwk.items() if name != "kid"}


def refusal(text: str, *secrets_: str) -> str:
    """Parse text that must be refused; return the message after checking it leaks nothing."""
    with pytest.raises(CredentialError) as refused:
        parse_public_jwks(text)
    message = str(refused.value)
    for material in secrets_:
        assert material not in message
    return message


# -- accepted keys ----------------------------------------------------------------------------


def test_an_ed25519_public_key_is_accepted_with_its_kid():
    public = new_ed25519().as_dict(private=False)

    parsed = parse_public_jwks(jwks_text(public))

    assert parsed == {"keys": [public]}


def test_a_p256_public_key_is_accepted_with_its_kid():
    public = new_es256().as_dict(private=False)

    parsed = parse_public_jwks(jwks_text(public))

    assert parsed == {"keys": [public]}


@pytest.mark.parametrize("make_key", [new_ed25519, new_es256], ids=["Ed25519", "P-256"])
def test_a_missing_kid_becomes_the_rfc7638_thumbprint(make_key):
    public = without_kid(make_key().as_dict(private=False))

    (key,) = parse_public_jwks(jwks_text(public))["keys"]

    assert key["kid"] == rfc7638_thumbprint(public)
    assert without_kid(key) == public


def test_several_keys_are_kept_in_order():
    first = new_ed25519().as_dict(private=False)
    second = without_kid(new_es256().as_dict(private=False))

    keys = parse_public_jwks(jwks_text(first, second))["keys"]

    assert [key["kid"] for key in keys] == [first["kid"], rfc7638_thumbprint(second)]


def test_use_sig_is_accepted():
    public = new_ed25519().as_dict(private=False) | {"use": "sig"}
    assert parse_public_jwks(jwks_text(public))["keys"][0]["use"] == "sig"


# -- refused documents ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "not json", "{'keys': []}", '{"keys": [', "\x00"])
def test_text_that_is_not_json_is_refused(text):
    assert "not valid JSON" in refusal(text)


@pytest.mark.parametrize(
    "document",
    [{}, {"keys": {}}, {"keys": "[]"}, {"key": []}, [], "keys", 42, None],
)
def test_a_document_without_a_keys_list_is_refused(document):
    assert '"keys" list' in refusal(json.dumps(document))


def test_an_empty_key_list_is_refused():
    assert "no key" in refusal(jwks_text())


def test_a_member_that_is_not_an_object_is_refused():
    assert "not a JSON object" in refusal(jwks_text("a key"))


# -- refused keys -----------------------------------------------------------------------------


def test_an_rsa_key_is_refused():
    public = RSAKey.generate_key(2048, private=False).as_dict(private=False)
    message = refusal(jwks_text(public), public["n"])
    assert "'RSA' is not accepted" in message


def test_a_symmetric_key_is_refused_without_echoing_it():
    oct_key = OctKey.generate_key(256).as_dict(private=True)
    message = refusal(jwks_text(oct_key), oct_key["k"])
    assert "'oct' is not accepted" in message


def test_a_key_without_a_type_is_refused():
    public = without_kid(new_ed25519().as_dict(private=False))
    del public["kty"]
    assert "not accepted" in refusal(jwks_text(public), public["x"])


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: OKPKey.generate_key("X25519", private=False),
        lambda: OKPKey.generate_key("Ed448", private=False),
        lambda: ECKey.generate_key("P-384", private=False),
        lambda: ECKey.generate_key("secp256k1", private=False),
    ],
    ids=["X25519", "Ed448", "P-384", "secp256k1"],
)
def test_a_key_on_another_curve_is_refused(make_key):
    public = make_key().as_dict(private=False)
    message = refusal(jwks_text(public), public["x"])
    assert "must use curve" in message


@pytest.mark.parametrize("make_key", [new_ed25519, new_es256], ids=["Ed25519", "P-256"])
def test_private_key_material_is_refused_without_echoing_it(make_key):
    private = make_key().as_dict(private=True)
    assert "d" in private

    message = refusal(jwks_text(private), private["d"])

    assert "private key material" in message


def test_a_private_key_among_public_ones_is_refused():
    public = new_ed25519().as_dict(private=False)
    private = new_ed25519().as_dict(private=True)
    message = refusal(jwks_text(public, private), private["d"])
    assert message.startswith("key 1 ")


def test_two_keys_with_the_same_kid_are_refused():
    first = new_ed25519().as_dict(private=False) | {"kid": "agency-key-1"}
    second = new_es256().as_dict(private=False) | {"kid": "agency-key-1"}
    assert "appears twice" in refusal(jwks_text(first, second))


def test_the_same_key_twice_without_kid_is_refused():
    public = without_kid(new_ed25519().as_dict(private=False))
    assert "appears twice" in refusal(jwks_text(public, dict(public)))


@pytest.mark.parametrize("use", ["enc", "", "SIG"])
def test_a_key_not_for_signatures_is_refused(use):
    public = new_ed25519().as_dict(private=False) | {"use": use}
    assert "use must be 'sig'" in refusal(jwks_text(public), public["x"])


@pytest.mark.parametrize(
    ("make_key", "bad_x"),
    [
        (new_ed25519, "AAAA"),  # too short for an Ed25519 key
        (new_ed25519, "not base64url!"),
        (new_ed25519, 12345),
        (new_es256, "AAAA"),
        (new_es256, None),  # the y coordinate copied into x: not a point on the curve
    ],
    ids=["ed25519-short", "ed25519-not-base64", "ed25519-number", "p256-short", "p256-off-curve"],
)
def test_a_malformed_x_coordinate_is_refused(make_key, bad_x):
    public = make_key().as_dict(private=False)
    public["x"] = public["y"] if bad_x is None else bad_x

    message = refusal(jwks_text(public), str(public["x"]))

    assert "is not a valid" in message


def test_a_missing_x_coordinate_is_refused():
    public = new_ed25519().as_dict(private=False)
    del public["x"]
    assert "is not a valid OKP key" in refusal(jwks_text(public))


def test_a_kid_that_is_not_a_string_is_refused():
    public = new_ed25519().as_dict(private=False) | {"kid": 7}
    refusal(jwks_text(public), public["x"])


def test_an_empty_kid_is_refused_not_replaced():
    public = new_ed25519().as_dict(private=False) | {"kid": ""}
    assert "kid must be a non-empty string" in refusal(jwks_text(public), public["x"])


@pytest.mark.parametrize(
    ("make_key", "alg"), [(new_ed25519, "RS256"), (new_ed25519, "ES256"), (new_es256, "EdDSA")]
)
def test_an_alg_that_does_not_fit_the_key_is_refused(make_key, alg):
    public = make_key().as_dict(private=False) | {"alg": alg}
    assert "alg must be" in refusal(jwks_text(public), public["x"])


@pytest.mark.parametrize(
    ("make_key", "alg"), [(new_ed25519, "EdDSA"), (new_ed25519, "Ed25519"), (new_es256, "ES256")]
)
def test_an_alg_that_fits_the_key_is_accepted(make_key, alg):
    public = make_key().as_dict(private=False) | {"alg": alg}
    assert parse_public_jwks(jwks_text(public))["keys"][0]["kid"] == public["kid"]


@pytest.mark.parametrize("key_ops", [["encrypt"], ["sign", "verify"], "verify"])
def test_key_ops_other_than_verify_are_refused(key_ops):
    public = new_ed25519().as_dict(private=False) | {"key_ops": key_ops}
    assert "key_ops" in refusal(jwks_text(public), public["x"])


# -- client secrets ---------------------------------------------------------------------------


def test_a_hashed_secret_verifies():
    assert verify_secret(SECRET, hash_secret(SECRET)) is True


def test_a_wrong_secret_does_not_verify():
    stored = hash_secret(SECRET)
    assert verify_secret(SECRET[:-1] + "X", stored) is False
    assert verify_secret("", stored) is False


def test_the_hash_does_not_contain_the_secret():
    assert SECRET not in hash_secret(SECRET)


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_secret_shorter_than_32_characters_is_refused(secret):
    with pytest.raises(CredentialError, match="at least 32 characters") as refused:
        hash_secret(secret)
    if secret:
        assert secret not in str(refused.value)


def test_a_secret_of_exactly_32_characters_is_accepted():
    secret = "y" * 32
    assert verify_secret(secret, hash_secret(secret))


def test_two_hashes_of_one_secret_differ_by_their_salt():
    first, second = hash_secret(SECRET), hash_secret(SECRET)

    assert first != second
    assert first.split("$")[4] != second.split("$")[4]
    assert verify_secret(SECRET, first)
    assert verify_secret(SECRET, second)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "scrypt$16384$8$1$c2FsdA",  # a field short
        "bcrypt$16384$8$1$c2FsdA$ZGlnZXN0",  # another scheme
        "scrypt$16384$8$1$c2FsdA$ZGlnZXN0$extra",
    ],
)
def test_a_malformed_stored_hash_does_not_verify(stored):
    assert verify_secret(SECRET, stored) is False


def test_a_stored_hash_with_its_digest_cut_does_not_verify():
    stored = hash_secret(SECRET)
    assert verify_secret(SECRET, stored[:-4]) is False


@pytest.mark.parametrize(
    "stored",
    [
        "scrypt$many$8$1$c2FsdA$ZGlnZXN0",  # N not a number: int() raises
        "scrypt$3$8$1$c2FsdA$ZGlnZXN0",  # N not a power of two: hashlib.scrypt raises
        "scrypt$1073741824$8$1$c2FsdA$ZGlnZXN0",  # N beyond maxmem: hashlib.scrypt raises
        "scrypt$16384$8$1$c2FsdA$Z",  # a digest no base64 decoder accepts
    ],
    ids=["n-not-a-number", "n-not-a-power-of-two", "n-too-large", "digest-not-base64"],
)
def test_a_stored_hash_with_damaged_parameters_does_not_verify(stored):
    assert verify_secret(SECRET, stored) is False
