"""Helpers the tests share: keys, client assertions, registered clients and live servers."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import yaml
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from consent.vocabulary import AgencyKind
from gateway.agencies import service
from gateway.agencies.service import Credential
from gateway.agencies.tables import ClientRole
from gateway.app import create_app
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.db.migrate import upgrade
from gateway.policy.loader import META_SCHEMA, REFERENCE_POLICIES
from gateway.release import ledger
from gateway.release.tables import Kind
from gateway.runtime import Runtime
from gateway.settings import Settings

T = TypeVar("T")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_ed25519() -> OKPKey:
    key = OKPKey.generate_key("Ed25519", private=True)
    return OKPKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})


def new_es256() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    return ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})


def public_jwks(*keys: OKPKey | ECKey) -> str:
    return json.dumps({"keys": [key.as_dict(private=False) for key in keys]})


def client_assertion(
    client_id: str,
    key: Any,
    audience: str,
    *,
    alg: str = "Ed25519",
    lifetime: int = 60,
    jti: str | None = None,
    claims: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti or secrets.token_urlsafe(16),
    }
    payload.update(claims or {})
    kid = getattr(key, "kid", None)
    protected = {"alg": alg, **({"kid": kid} if kid else {}), **(header or {})}
    return jwt.encode(protected, payload, key, algorithms=[alg])


def add_release(
    session: Session,
    *,
    provider: str,
    recipient: str,
    subject_id: str,
    category: str,
    consent_id: str | None,
    consent_version: int | None = 1,
    purpose: str = "case_management",
    kind: Kind = Kind.QUERY,
    message_id: str | None = None,
    released_at: datetime | None = None,
) -> str:
    """A row of the release ledger, as a set-up: the id of the release (for a query, its
    exchange id)."""
    release_id = str(uuid.uuid4())
    ledger.add(
        session,
        [
            {
                "id": release_id,
                "category": category,
                "kind": kind.value,
                "message_id": message_id,
                "provider": provider,
                "recipient": recipient,
                "subject_id": subject_id,
                "purpose": purpose,
                "policy_flow": None,
                "consent_id": consent_id,
                "consent_version": consent_version if consent_id else None,
                "released_at": released_at or datetime.now(UTC),
            }
        ],
    )
    return release_id


def named_in(references: dict[str, str], grants: list[dict[str, Any]]) -> dict[str, str]:
    """The references of the agencies the grants name (a consent may give no others)."""
    named = {grant[side] for grant in grants for side in ("from", "to")}
    return {agency: reference for agency, reference in references.items() if agency in named}


CONFIDED_FLOW = "jugendamt-to-jobcenter-support"
CONFIDED_CITATION = "§ 65 Abs. 1 Satz 1 Nr. 1 SGB VIII"


def confided_policies(
    folder: Path, flow_id: str = CONFIDED_FLOW, categories: list[str] | None = None
) -> Path:
    """A copy of the reference policy set in ``folder`` (created) with one flow marked as
    carrying data confided to the youth welfare office (all its categories, or these)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_SCHEMA).write_text((REFERENCE_POLICIES / META_SCHEMA).read_text())
    document = yaml.safe_load((REFERENCE_POLICIES / "reference.yaml").read_text())
    (flow,) = [flow for flow in document["flows"] if flow["id"] == flow_id]
    flow["confided"] = {"citation": CONFIDED_CITATION}
    if categories is not None:
        flow["confided"]["categories"] = categories
    (folder / "reference.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return folder


def token_form(assertion: str, scope: str | None = None, **extra: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if scope is not None:
        form["scope"] = scope
    return form | extra


@dataclass
class RegisteredClient:
    id: str
    key: Any = None
    secret: str | None = None


@dataclass
class Clients:
    """Registers clients through the registry service, as the CLI does."""

    database: Database
    audit: AuditLog
    registered: dict[str, RegisteredClient] = field(default_factory=dict)

    def agency(
        self,
        agency_id: str = "koeln-jobcenter",
        kind: AgencyKind = AgencyKind.JOB_CENTRE,
        *,
        key: Any = None,
        municipality: str = "koeln",
        demo: bool = False,
    ) -> RegisteredClient:
        key = key or new_ed25519()
        with self.database.transaction() as session:
            service.register_agency(
                session,
                self.audit,
                agency_id=agency_id,
                kind=kind.value,
                municipality=municipality,
                name=f"Agency {agency_id}",
                credential=Credential(jwks_text=public_jwks(key)),
                demo=demo,
            )
        return self._keep(RegisteredClient(agency_id, key=key))

    def secret_agency(self, agency_id: str = "koeln-sozialamt") -> RegisteredClient:
        secret = "gws_" + secrets.token_urlsafe(32)
        with self.database.transaction() as session:
            service.register_agency(
                session,
                self.audit,
                agency_id=agency_id,
                kind=AgencyKind.SOCIAL_OFFICE.value,
                municipality="koeln",
                name=f"Agency {agency_id}",
                credential=Credential(secret=secret),
            )
        return self._keep(RegisteredClient(agency_id, secret=secret))

    def other(self, client_id: str, role: ClientRole) -> RegisteredClient:
        key = new_ed25519()
        with self.database.transaction() as session:
            service.register_client(
                session,
                self.audit,
                client_id=client_id,
                role=role,
                name=client_id,
                credential=Credential(jwks_text=public_jwks(key)),
            )
        return self._keep(RegisteredClient(client_id, key=key))

    def disable(self, client_id: str) -> None:
        with self.database.transaction() as session:
            service.disable(session, self.audit, client_id)

    def _keep(self, client: RegisteredClient) -> RegisteredClient:
        self.registered[client.id] = client
        return client


@contextmanager
def fresh_database(server_url: str | None, purpose: str = "test") -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or a new database on the PostgreSQL server
    that ``server_url`` points at (dropped afterwards)."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix=f"gateway-{purpose}-db-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"gateway_{purpose}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    runtime: Runtime

    @property
    def token_endpoint(self) -> str:
        return self.runtime.settings.token_endpoint

    @property
    def clients(self) -> Clients:
        return Clients(self.runtime.database, self.runtime.audit)


@contextmanager
def start_live_server(database_url: str, folder: Path, **settings: Any) -> Iterator[LiveServer]:
    port = free_port()
    config = Settings(
        database_url=database_url,
        key_dir=settings.pop("key_dir", folder / "keys"),
        demo_dir=folder / "demo",
        issuer=settings.pop("issuer", f"http://127.0.0.1:{port}"),
        key_reload_interval=0,
        audit_checkpoint_interval=settings.pop("audit_checkpoint_interval", 0),
        **settings,
    )
    runtime = Runtime.start(config)
    try:
        with serve_app(create_app(runtime=runtime), port) as url:
            yield LiveServer(url, runtime)
    finally:
        runtime.close()


@contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Any ASGI app behind a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_in_new_loop(main: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(main())`` on a thread of its own, as a gateway worker runs its loop: the
    main thread may hold a loop already (Playwright's sync API keeps one there for as long as
    the browser tests' session lasts)."""

    def run() -> T:
        async def wrapped() -> T:
            return await main()

        return asyncio.run(wrapped())

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()
