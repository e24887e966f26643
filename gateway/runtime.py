"""What a running gateway holds for its whole life, reachable from every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from gateway.audit.digests import open_digest_keys
from gateway.audit.keys import load_pseudonymizer, load_signer
from gateway.audit.service import AuditLog
from gateway.auth.tokens import AccessTokens
from gateway.consents.effects import WithdrawalEffects
from gateway.db.engine import Database, connect
from gateway.db.group import GroupCommit
from gateway.exchange.provider import ProviderCalls, ProviderTokens
from gateway.keys.store import KeyStore
from gateway.messages.sealing import MessageKeys
from gateway.observability.metrics import Metrics
from gateway.policy.loader import REFERENCE_POLICIES, load_policies
from gateway.policy.model import PolicySet
from gateway.release import withdrawal
from gateway.schemas.registry import (
    REFERENCE_SCHEMAS,
    SchemaSet,
    check_released_fields,
    load_schemas,
)
from gateway.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    keys: KeyStore
    tokens: AccessTokens  # the check of access tokens the gateway issued
    metrics: Metrics
    audit: AuditLog
    policies: PolicySet
    schemas: SchemaSet
    providers: ProviderCalls  # calls to providers' systems, pooled
    provider_tokens: ProviderTokens
    commits: GroupCommit  # the exchange path's writes, group-committed
    sealing: MessageKeys  # key-encryption keys of message payloads

    @property
    def withdrawal_effects(self) -> WithdrawalEffects:
        """What a withdrawal sets off beyond the consent registry, in its transaction."""
        return withdrawal.Effects(self.audit)

    async def close_loop(self) -> None:
        """Finish and close what the running event loop holds; its app is shutting down."""
        await self.commits.close()
        await self.providers.close()
        await self.database.close_loop()

    def close(self) -> None:
        self.database.dispose()

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        keys = open_key_store(settings)
        keys.ensure()
        sealing = open_message_keys(settings)
        sealing.ensure()
        database = connect(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_pool_size,
        )
        return cls(
            settings,
            database,
            keys,
            AccessTokens(
                keys,
                issuer=settings.issuer,
                audience=settings.audience,
                leeway=settings.clock_leeway,
            ),
            Metrics(settings.metrics_dir),
            open_audit_log(settings),
            *load_data_files(settings),
            ProviderCalls(max_answer_bytes=settings.max_body_bytes),
            ProviderTokens(keys, settings.issuer),
            GroupCommit(database),
            sealing,
        )


def load_data_files(settings: Settings) -> tuple[PolicySet, SchemaSet]:
    """The policy set and the category schemas, checked against each other: the gateway
    refuses to start when a policy releases a field no schema defines."""
    policies = load_policies(settings.policy_dir or REFERENCE_POLICIES)
    schemas = load_schemas(settings.schema_dir or REFERENCE_SCHEMAS)
    check_released_fields(schemas, policies)
    return policies, schemas


def open_audit_log(settings: Settings) -> AuditLog:
    return AuditLog(
        load_pseudonymizer(settings.key_dir),
        load_signer(settings.key_dir, settings.log_origin),
        open_digest_keys(settings.key_dir, settings.key_reload_interval),
    )


def open_key_store(settings: Settings) -> KeyStore:
    # A retired key must verify everything it signed for as long as that can be valid.
    grace = timedelta(seconds=settings.access_token_lifetime + settings.clock_leeway)
    return KeyStore(settings.key_dir, grace=grace, reload_interval=settings.key_reload_interval)


def open_message_keys(settings: Settings) -> MessageKeys:
    return MessageKeys(settings.key_dir, reload_interval=settings.key_reload_interval)


async def _runtime(request: Request) -> Runtime:
    # A coroutine, though it does nothing asynchronous: FastAPI runs a plain function
    # dependency in a worker thread, a hand-off every request would pay for.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
