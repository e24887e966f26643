"""``gateway serve``: migrate, then serve with uvicorn."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import click
import uvicorn

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.cli.context import load_settings, migrated_database
from gateway.db.engine import Database
from gateway.demo.address import remember
from gateway.demo.agencies import DEMO_CONTACTS, set_up
from gateway.observability import metrics_folder
from gateway.policy.loader import PolicyError
from gateway.policy.model import PolicySet
from gateway.runtime import load_data_files, open_audit_log, open_key_store, open_message_keys
from gateway.schemas.registry import SchemaError
from gateway.settings import Settings

DEFAULT_PORT = 8000


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=int,
    help=f"[default: {DEFAULT_PORT}; with --demo, another free port if that one is taken]",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--demo", is_flag=True, help="Register demo agencies and accept their keys.")
def serve(host: str, port: int | None, workers: int, demo: bool) -> None:
    """Migrate the database and serve the gateway."""
    # Before anything is migrated, registered or announced.
    port = _demo_port(host) if demo and port is None else _port_free(host, port or DEFAULT_PORT)
    settings = load_settings()
    # Workers build their own settings from the environment: pass what the flags decided.
    if demo:
        os.environ["GATEWAY_DEMO"] = "true"
    if "issuer" not in settings.model_fields_set:
        os.environ["GATEWAY_ISSUER"] = f"http://{_url_host(host)}:{port}"
    if demo and "cookie_secure" not in settings.model_fields_set:
        # The demo is reached over plain http; its pages' cookies must still reach the browser.
        os.environ["GATEWAY_COOKIE_SECURE"] = "false"
    if demo:
        for name, made_up in DEMO_CONTACTS.items():
            os.environ.setdefault(name, made_up)
    metrics_folder.remove_stale()
    metrics_dir = None
    if workers > 1 and settings.metrics_dir is None:
        metrics_dir = metrics_folder.new_folder()
        os.environ["GATEWAY_METRICS_DIR"] = str(metrics_dir)
    if workers > 1 or settings.metrics_dir is not None:
        # prometheus_client reads this itself when a worker imports it.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["GATEWAY_METRICS_DIR"]
    settings = load_settings()

    # Made here, once, so that several workers starting together do not each create keys; the
    # key-encryption keys before migrating, which may seal what was stored in clear with them
    # (this is the key folder the gateway runs with: serving makes its first key anyway).
    with _writing_keys(settings):
        open_message_keys(settings).ensure()
    database = migrated_database(settings)
    with _writing_keys(settings):
        open_key_store(settings).ensure()
    audit = open_audit_log(settings)
    policies = _audit_policies(settings, database, audit)
    if settings.demo:
        agencies = set_up(database, audit, settings.demo_dir, settings.issuer, policies)
        remember(settings.demo_dir, settings.issuer)
        _announce_demo(settings, agencies)
    database.dispose()

    try:
        uvicorn.run(
            "gateway.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            server_header=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@contextmanager
def _writing_keys(settings: Settings) -> Iterator[None]:
    """A key folder that cannot be written (a full disk, say) ends the start in one line."""
    try:
        yield
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else "failed"
        message = f"cannot write the key folder {settings.key_dir}: {reason}"
        raise click.ClickException(message) from None


def _audit_policies(settings: Settings, database: Database, audit: AuditLog) -> PolicySet:
    """Refuse to start on an invalid policy set; record which set this start serves."""
    try:
        policies, _ = load_data_files(settings)
    except PolicyError as invalid:
        raise click.ClickException(f"invalid policy file: {invalid}") from None
    except SchemaError as invalid:
        raise click.ClickException(f"invalid schema file: {invalid}") from None
    with database.transaction() as session:
        audit.record(
            session,
            AuditEvent(
                EventType.POLICY_SET_LOADED,
                actor=OPERATOR,
                policy_set_digest=policies.digest,
                details={"files": ", ".join(policies.files), "flows": len(policies.flows)},
            ),
        )
    return policies


def _port_free(host: str, port: int) -> int:
    """``port``, or the start ends in one line when the address is taken: uvicorn would find
    out only after the demo's instructions were printed, and exit under a log line."""
    try:
        return _bind(host, port)
    except OSError as error:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {os.strerror(error.errno or 0)} "
            "(another gateway?); choose another port with --port"
        ) from None


def _demo_port(host: str) -> int:
    """The demo's port: the default one, or where that is taken (another program of the
    machine's), one the system has free, so the quick start works as written. The demo's
    commands find it in the demo folder (``gateway.demo.address``)."""
    try:
        return _bind(host, DEFAULT_PORT)
    except OSError:
        port = _port_free(host, 0)
        click.echo(f"Port {DEFAULT_PORT} is taken; the demo gateway takes port {port} instead.")
        return port


def _bind(host: str, port: int) -> int:
    """The port a listening socket gets at ``host:port`` (0: any free one), released again."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::"}:  # noqa: S104 (recognising, not binding)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _announce_demo(settings: Settings, agencies: list) -> None:
    folder = settings.demo_dir.resolve()
    lines = [
        "",
        "Demo mode: never use these keys for real data.",
        f"Demo agencies (municipality koeln), private keys in {folder}:",
    ]
    lines += [f"  {agency.id:<26} {agency.kind.value:<22} {path.name}" for agency, path in agencies]
    first, key_file = agencies[1][0].id, agencies[1][1]
    lines += [
        "",
        "Try it (in another terminal, in this folder):",
        f"  TOKEN=$(gateway demo token {first})",
        f'  curl -s -H "Authorization: Bearer $TOKEN" {settings.issuer}/v1/me',
        "",
        "The demo story (consent, query, case-conference invitation, withdrawal, refusal),"
        " then the audit check:",
        "  python -m gateway.demo.story",
        "  gateway audit verify",
        "",
        f"The person's portal: {settings.issuer}/portal/ (sign in with the portal code the"
        " story prints)",
        f"The DPO pages: {settings.issuer}/dpo/ (add a DPO user first:"
        ' gateway dpo add-user --id anna.schmidt --name "Anna Schmidt")',
        "",
        "Or in Python, with the gateway's SDK (authlib private_key_jwt underneath):",
        "  from pathlib import Path",
        "  from gateway.client import AgencyKey, TokenSource",
        f"  key = AgencyKey.from_jwk_file('{first}', Path('{key_file}'))",
        f"  print(TokenSource('{settings.token_endpoint}', key).token())",
        "",
    ]
    click.echo("\n".join(lines))
