"""``gateway agency``, ``gateway dpo`` and ``gateway monitoring``: the client registry."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click
from sqlalchemy.orm import Session

from gateway.agencies import contacts, service
from gateway.agencies.credentials import new_key_pair
from gateway.agencies.service import Credential, RegistryError
from gateway.agencies.tables import ClientRole
from gateway.audit.service import AuditLog
from gateway.auth.scopes import Scope
from gateway.cli.context import load_settings, transaction
from gateway.policy.loader import REFERENCE_POLICIES, PolicyError, load_policies
from gateway.runtime import open_audit_log

_JWKS_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_CONTACT_OPTIONS = (
    ("address", "Postal address people visit (line breaks as \\n)."),
    ("phone", "Phone number for people, e.g. +49 221 221-0."),
    ("email", "E-mail address for people."),
    ("website", "https:// address of the office's page."),
    ("hours", "Opening hours, as the office writes them."),
    ("interpreter", "How to get an interpreter, e.g. 'Arabic, Dari: ask when you book'."),
    ("privacy-contact", "The office's data-protection officer (name or office, address)."),
    ("privacy-email", "The data-protection officer's e-mail address."),
)


def _contact_options(command: Callable[..., None]) -> Callable[..., None]:
    """The contact fields of ``agency add`` and ``agency update``, written once."""
    for name, help_text in reversed(_CONTACT_OPTIONS):
        command = click.option(f"--{name}", help=help_text)(command)
    return command


def _contact(options: dict[str, str | None]) -> dict[str, str | None]:
    """The contact fields given on the command line (``\\n`` is a line break; "" clears)."""
    return {
        name: value.replace("\\n", "\n")
        for name in contacts.FIELDS
        if (value := options.get(name)) is not None
    }


@contextmanager
def _registry() -> Iterator[tuple[Session, AuditLog]]:
    """A registry transaction; a refusal ends the command with its reason, nothing written."""
    settings = load_settings()
    try:
        with transaction(settings) as session:
            yield session, open_audit_log(settings)
    except RegistryError as refused:
        raise click.ClickException(str(refused)) from None


@click.group("agency")
def agency_group() -> None:
    """Register, list and disable agencies."""


@agency_group.command("add")
@click.option("--id", "agency_id", required=True, help="e.g. koeln-jobcenter")
@click.option("--kind", required=True, help="foreigners_office, job_centre, ...")
@click.option("--municipality", required=True)
@click.option("--name", required=True)
@click.option("--jwks", "jwks_file", type=_JWKS_FILE, help="The agency's public JWK set.")
@click.option(
    "--secret-stdin", is_flag=True, help="Read a client secret (32+ characters) from stdin."
)
@click.option("--provider-url", help="Base URL of the agency system's provider API.")
@_contact_options
def agency_add(
    agency_id: str,
    kind: str,
    municipality: str,
    name: str,
    jwks_file: Path | None,
    secret_stdin: bool,
    provider_url: str | None,
    **contact: str | None,
) -> None:
    """Register an agency with its public keys (private_key_jwt) or a secret, and the contact
    details people reach it by (shown in the portal)."""
    credential = _credential(jwks_file, secret_stdin)
    with _registry() as (session, audit):
        service.register_agency(
            session,
            audit,
            agency_id=agency_id,
            kind=kind,
            municipality=municipality,
            name=name,
            credential=credential,
            provider_url=provider_url,
            contact=_contact(contact),
        )
    click.echo(f"registered agency {agency_id}")


@agency_group.command("update")
@click.argument("agency_id")
@click.option("--name", help="The display name people and DPOs read.")
@click.option("--provider-url", help="Base URL of the agency system's provider API.")
@_contact_options
def agency_update(
    agency_id: str, name: str | None, provider_url: str | None, **contact: str | None
) -> None:
    """Change an agency's name, system address or contact details; an option given as ""
    clears that contact field, one not given stays as it is."""
    with _registry() as (session, audit):
        changed = service.update_agency(
            session, audit, agency_id, name=name, provider_url=provider_url,
            contact=_contact(contact),
        )  # fmt: skip
    click.echo(f"updated {agency_id}: {', '.join(changed)}" if changed else "nothing changed")


@agency_group.command("show")
@click.argument("agency_id")
def agency_show(agency_id: str) -> None:
    """Print an agency's registration and contact details as JSON."""
    with _registry() as (session, _audit):
        agency = service.get_agency(session, agency_id)
        shown = {
            "id": agency.id,
            "name": agency.client.name,
            "kind": agency.kind,
            "municipality": agency.municipality,
            "provider_url": agency.provider_url,
            "enabled": agency.client.enabled,
            "emergency": Scope.EXCHANGE_EMERGENCY.value in agency.client.scope_set,
            "contact": asdict(contacts.contact_of(session, agency_id)),
        }
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2))


@agency_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def agency_list(as_json: bool) -> None:
    """List every registered client: agencies, DPO and monitoring clients."""
    with _registry() as (session, _audit):
        rows = []
        for client in service.list_clients(session):
            agency = client.agency
            rows.append(
                {
                    "id": client.id,
                    "role": client.role,
                    "kind": agency.kind if agency else "",
                    "municipality": agency.municipality if agency else "",
                    "name": client.name,
                    "auth": "private_key_jwt" if client.jwks else "client_secret_basic",
                    "enabled": client.enabled,
                    "demo": client.demo,
                    "emergency": Scope.EXCHANGE_EMERGENCY.value in client.scope_set,
                }
            )
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    columns = ("id", "role", "kind", "municipality", "name", "auth", "enabled", "demo")
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        click.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


@agency_group.command("emergency-access")
@click.argument("agency_id")
@click.option(
    "--grant/--revoke",
    required=True,
    help="Let the agency make emergency queries (scope exchange:emergency), or no longer.",
)
def agency_emergency_access(agency_id: str, grant: bool) -> None:
    """Let a youth welfare office ask for data without consent in a child-protection emergency
    (§ 8a SGB VIII), on the policy's emergency flows only; each use is justified, limited and
    reviewed by a DPO. Its systems must ask for the scope by name. --revoke takes effect at
    once, also for tokens already issued."""
    settings = load_settings()
    try:
        policies = load_policies(settings.policy_dir or REFERENCE_POLICIES)
    except PolicyError as invalid:
        raise click.ClickException(f"the policy set does not load: {invalid}") from None
    with _registry() as (session, audit):
        changed = service.set_emergency_access(
            session, audit, agency_id, allowed=grant, policies=policies
        )
    state = "may make emergency queries" if grant else "may not make emergency queries"
    click.echo(f"{agency_id} {state}" + ("" if changed else " (unchanged)"))


@agency_group.command("disable")
@click.argument("agency_id")
def agency_disable(agency_id: str) -> None:
    """Disable a client at once: no new tokens, and its current tokens stop working."""
    with _registry() as (session, audit):
        service.disable(session, audit, agency_id)
    click.echo(f"disabled {agency_id}")


def _role_group(role: ClientRole, help_text: str) -> click.Group:
    @click.group(role.value, help=help_text)
    def group() -> None:
        pass

    @group.command("add")
    @click.option("--id", "client_id", required=True)
    @click.option("--jwks", "jwks_file", type=_JWKS_FILE, required=True)
    @click.option("--name", help="Defaults to the id.")
    def add(client_id: str, jwks_file: Path, name: str | None) -> None:
        """Register an OAuth client of this kind with its public JWK set."""
        with _registry() as (session, audit):
            service.register_client(
                session,
                audit,
                client_id=client_id,
                role=role,
                name=name or client_id,
                credential=Credential(jwks_text=jwks_file.read_text()),
            )
        click.echo(f"registered {role.value} client {client_id}")

    return group


dpo_group = _role_group(ClientRole.DPO, "Data-protection officers' clients (scope audit:read).")
monitoring_group = _role_group(
    ClientRole.MONITORING, "The city's monitoring office (scope monitoring:read only)."
)


def _credential(jwks_file: Path | None, secret_stdin: bool) -> Credential:
    if (jwks_file is None) == (not secret_stdin):
        raise click.UsageError("give exactly one of --jwks FILE or --secret-stdin")
    if jwks_file is not None:
        return Credential(jwks_text=jwks_file.read_text())
    return Credential(secret=sys.stdin.read().strip())


@click.command("client-key")
@click.option("--id", "client_id", required=True, help="The client's id, e.g. koeln-jobcenter.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write the two files to.",
)
@click.option("--curve", type=click.Choice(["Ed25519", "P-256"]), default="Ed25519")
def client_key(client_id: str, out: Path, curve: str) -> None:
    """Make a signing key pair for a client (private_key_jwt): ID.key.json, the private key
    its system signs with (readable by its owner only), and ID.jwks.json, the public JWK set
    to register with `gateway agency add --jwks` or `gateway dpo add --jwks`. Existing files
    are never overwritten."""
    private, public = new_key_pair(curve)
    out.mkdir(parents=True, exist_ok=True)
    key_file, jwks_file = out / f"{client_id}.key.json", out / f"{client_id}.jwks.json"
    for path in (key_file, jwks_file):
        if path.exists():
            raise click.ClickException(f"{path} exists; nothing was written")
    # Created with its mode, never readable by others for a moment.
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as written:
        written.write(private + "\n")
    jwks_file.write_text(public + "\n")
    click.echo(f"private key: {key_file} (keep it on the client's system only)")
    click.echo(f"public JWK set: {jwks_file}")
    click.echo(
        f"register it: gateway agency add --id {client_id} --kind KIND --municipality M "
        f'--name "NAME" --jwks {jwks_file}'
    )
