"""The one place that reads configuration: environment variables prefixed ``GATEWAY_``."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.audit.cosignatures import WitnessKey, WitnessPolicy
from gateway.audit.notes import NoteError
from gateway.texts import PLAIN_TEXT

MIB = 1024 * 1024


class WitnessConfig(BaseModel):
    """A witness the gateway submits its checkpoints to (C2SP tlog-witness): where it listens
    (its submission prefix) and its cosignature verifier key (``gateway witness key``)."""

    model_config = ConfigDict(frozen=True)

    url: str = Field(description="The witness's submission prefix, e.g. https://w.example/.")
    key: str = Field(description="Its verifier key: <name>+<key id>+<base64 Ed25519 key>.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError("a witness URL is an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("a witness URL has no query or fragment")
        return value.rstrip("/")

    @field_validator("key")
    @classmethod
    def _cosignature_key(cls, value: str) -> str:
        try:
            return WitnessKey.from_vkey(value).vkey()
        except NoteError as bad:
            raise ValueError(f"not a witness verifier key: {bad}") from None

    @property
    def witness_key(self) -> WitnessKey:
        return WitnessKey.from_vkey(self.key)

    @property
    def name(self) -> str:
        return self.witness_key.name


# No deployment may defer telling a person of an emergency access longer than this after it;
# the portal holds to it whatever a row of the database says (gateway.emergency.disclosure).
EMERGENCY_DEFERRAL_CEILING_DAYS = 365


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True)

    database_url: str = Field(
        default="sqlite:///gateway.db",
        description="SQLAlchemy URL; a SQLite file in the working folder by default.",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description="Database connections each worker process keeps open; as many again are "
        "opened for bursts and closed after. Keep it at least the number of requests a worker "
        "serves at once, or connections are opened and closed all the time.",
    )
    key_dir: Path = Field(
        default=Path("gateway-keys"),
        description="Folder with the gateway's private keys (signing keys). Keep it out of backups "
        "of the database.",
    )
    policy_dir: Path | None = Field(
        default=None,
        description="Folder of policy files; by default the reference set shipped with the "
        "gateway (the repository's policies/ folder).",
    )
    consent_max_validity_months: int = Field(default=24, ge=1, le=120)
    time_zone: str = Field(
        default="Europe/Berlin",
        description="The deployment's time zone (IANA name): a consent's plain dates "
        "(`valid_until: 2027-12-31`) mean that whole day here.",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "not a time zone this system knows (an IANA name, e.g. Europe/Berlin)"
            ) from None
        return value

    consent_evidence_days: int = Field(
        default=1095,
        ge=1,
        le=3650,
        description="Days an ended (withdrawn or expired) consent is kept as proof of what was "
        "agreed; a portal code lets its holder in while the consent it was issued with is "
        "active or within this period.",
    )
    release_retention_fallback_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days a release ledger row is kept when its flow is not in the active "
        "policy set (removed or renamed since, or recorded before the ledger named flows). "
        "Unset: the longest retention of any flow in the active set.",
    )
    message_record_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a closed message's metadata (sender, recipient, state, dates) is "
        "kept after it was acknowledged, withheld or expired; its payload is gone at closing.",
    )
    lifecycle_interval: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds between runs of the lifecycle chore in each gateway process "
        "(with the background chores); 0 turns it off (`gateway lifecycle run` still works).",
    )
    lifecycle_batch: int = Field(
        default=500,
        ge=1,
        le=10000,
        description="Rows the lifecycle erases per transaction.",
    )
    lifecycle_pause: float = Field(
        default=0.0,
        ge=0,
        le=60,
        description="Seconds the lifecycle waits between two batches, so that other writers "
        "get the database in between.",
    )
    provider_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds a providing agency's system may take."
    )
    schema_dir: Path | None = Field(
        default=None,
        description="Folder of category JSON Schemas; by default the reference set shipped with "
        "the gateway (the repository's schemas/ folder).",
    )
    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="The gateway's public base URL: the `iss` of its tokens and the base of "
        "its endpoints' addresses.",
    )
    access_token_lifetime: int = Field(default=300, ge=30, le=3600, description="Seconds.")
    # An hour by default, as stock clients sign (authlib's PrivateKeyJWT) and identity
    # providers accept: an assertion is single-use (its jti is kept until its exp), so a longer
    # one widens nothing but the window in which a copy taken before its use could be used
    # first. Stricter deployments lower it.
    assertion_max_lifetime: int = Field(
        default=3600,
        ge=10,
        le=3600,
        description="Longest accepted `exp - iat` of a client assertion (private_key_jwt).",
    )
    clock_leeway: int = Field(default=30, ge=0, le=300, description="Seconds of clock skew.")
    max_body_bytes: int = Field(default=MIB, ge=1024)
    message_max_bytes: int = Field(
        default=64 * 1024,
        ge=256,
        description="Largest message payload (bytes of its JSON) an agency may send.",
    )
    message_ttl_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days an unacknowledged message waits in the inbox before it expires and "
        "its payload is purged.",
    )
    key_reload_interval: float = Field(
        default=1.0,
        ge=0,
        description="How often (seconds) a running gateway looks for rotated keys.",
    )
    metrics_dir: Path | None = Field(
        default=None,
        description="Folder where worker processes share their metrics; `gateway serve "
        "--workers N` sets it (with prometheus_client's PROMETHEUS_MULTIPROC_DIR).",
    )
    audit_checkpoint_interval: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between sequencing new audit entries and signing a checkpoint; "
        "0 turns the background publisher off (`gateway audit checkpoint` still works).",
    )
    audit_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Audit entry bodies older than this are pruned (their leaf hashes stay, "
        "so the log still verifies). Unset: kept for ever.",
    )
    audit_log_public: Literal["none", "tree", "entries"] = Field(
        default="none",
        description="What of the audit log's tiles (`/v1/audit/log/`) is served without a "
        "token: `none` (everything needs `audit:read`), `tree` (the checkpoint and the hash "
        "tiles: enough for anyone to witness the log and check it only grows, and nothing about "
        "anyone), or `entries` (the entry bundles too: who asked whom for what, when, with "
        "subjects as keyed pseudonyms; pseudonymous data is still personal data, so only with "
        "the data-protection officer's consent).",
    )
    audit_origin: str | None = Field(
        default=None,
        description="The audit log's name in its checkpoints; by default the issuer's host and "
        "path followed by /audit. Fixed once the log's signing key exists.",
    )
    witnesses: tuple[WitnessConfig, ...] = Field(
        default=(),
        description="Witnesses that cosign each audit checkpoint after checking it is "
        "consistent with what they saw before (C2SP tlog-witness), as JSON: "
        '`[{"url": "https://w.example/", "key": "<vkey>"}]`, the key being what `gateway '
        "witness key` prints. Checked at start-up. None by default.",
    )
    witness_quorum: int | None = Field(
        default=None,
        ge=0,
        description="How many of the witnesses (k of n) must have cosigned a checkpoint for "
        "it to be served as the cosigned one; by default 1 when witnesses are configured.",
    )
    witness_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds to wait for a witness's answer; a slow witness never holds up "
        "exchanges or signing, it only lags.",
    )

    @model_validator(mode="after")
    def _quorum_within_witnesses(self) -> Settings:
        names = [witness.name for witness in self.witnesses]
        if len(set(names)) != len(names):
            raise ValueError("two witnesses share one name")
        if self.witness_quorum is not None and self.witness_quorum > len(self.witnesses):
            raise ValueError("the witness quorum is larger than the number of witnesses")
        return self

    @cached_property
    def witness_policy(self) -> WitnessPolicy:
        quorum = self.witness_quorum
        if quorum is None:
            quorum = 1 if self.witnesses else 0
        return WitnessPolicy(tuple(w.witness_key for w in self.witnesses), quorum)

    monitoring_min_cell: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="Fewest persons a published monitoring figure may stand for; smaller cells "
        "are suppressed, with secondary suppression. Months already computed keep theirs.",
    )
    emergency_window_hours: int = Field(
        default=72,
        ge=1,
        le=168,
        description="How long an emergency query (§ 8a SGB VIII) opens emergency access to one "
        "person for the agency that asked; an emergency flow's `max_window_hours` caps it. "
        "After it, ordinary rules apply again until a new emergency query.",
    )
    emergency_daily_limit: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Emergency queries one agency may make in any 24 hours; more are refused "
        "(reason `emergency_limit_reached`) and audited.",
    )
    emergency_review_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Days within which a DPO must review each emergency access; overdue "
        "reviews show on the DPO overview and in /readyz.",
    )
    emergency_max_deferral_days: int = Field(
        default=90,
        ge=1,
        le=EMERGENCY_DEFERRAL_CEILING_DAYS,
        description="Longest time, from the emergency access, that a DPO may defer showing it "
        "to the person in the portal; after it, it shows whatever was set.",
    )
    emergency_record_days: int = Field(
        default=365,
        ge=30,
        le=3650,
        description="Days a record of emergency access (its window, uses and sealed "
        "justifications) is kept after the window closed; only once a DPO has reviewed it and "
        "it is shown to the person. The audit log's entries about it follow the log's own "
        "retention.",
    )
    portal_operator: str | None = Field(
        default=None,
        max_length=500,
        pattern=PLAIN_TEXT,
        description="Who runs the gateway and its portal, with their data-protection officer's "
        "contact (Art. 13(1)(a, b) GDPR), shown on the portal's help page; `\\n` for a line "
        "break.",
    )
    supervisory_authority: str | None = Field(
        default=None,
        max_length=500,
        pattern=PLAIN_TEXT,
        description="The data-protection supervisory authority a person may complain to "
        "(Art. 77 GDPR), with its address, shown on the portal's help page; `\\n` for a line "
        "break.",
    )

    @field_validator("portal_operator", "supervisory_authority")
    @classmethod
    def _line_breaks(cls, value: str | None) -> str | None:
        return value.replace("\\n", "\n").strip() or None if value is not None else None

    demo: bool = Field(default=False, description="Demo mode: demo agencies may sign in.")
    cookie_secure: bool = Field(
        default=True,
        description="Send the portal's and DPO pages' session cookies only over https; turn "
        "off for a gateway reached over plain http on a local machine.",
    )
    session_idle_minutes: int = Field(
        default=15, ge=1, le=480, description="A page session ends after this long unused."
    )
    session_max_hours: int = Field(
        default=8, ge=1, le=24, description="A page session ends this long after sign-in."
    )
    login_max_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed sign-ins with one code or user name before it is locked for a while "
        "(an address may fail four times as often).",
    )
    login_lockout_minutes: int = Field(default=15, ge=1, le=1440)
    demo_dir: Path = Field(default=Path("gateway-demo"))
    log_level: str = Field(default="INFO")

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError("must be an absolute https URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            # OAuth 2.0 requires TLS; plain http is only for trying the gateway out locally.
            raise ValueError("must use https unless the host is localhost or a loopback address")
        return value.rstrip("/")

    @cached_property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/oauth/token"

    @cached_property
    def log_origin(self) -> str:
        if self.audit_origin:
            return self.audit_origin
        parts = urlsplit(self.issuer)
        return f"{parts.netloc}{parts.path}/audit"

    @cached_property
    def audience(self) -> str:
        """The `aud` of access tokens for this gateway's own API."""
        return self.issuer


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
