"""``gateway demo``: helpers for trying the gateway out in demo mode."""

from __future__ import annotations

import click

from gateway.cli.context import load_settings
from gateway.client.auth import AgencyKey, TokenSource
from gateway.demo.address import demo_settings
from gateway.demo.agencies import DEMO_AGENCIES, key_path

_GATEWAY_HELP = (
    "The gateway's base URL (default: GATEWAY_ISSUER, else the demo gateway started in this "
    "folder)."
)


@click.group("demo")
def demo_group() -> None:
    """Helpers for a gateway running with --demo."""


@demo_group.command("token")
@click.argument("agency_id", type=click.Choice([a.id for a in DEMO_AGENCIES]))
@click.option("--scope", help="Space-separated scopes; all the agency may hold by default.")
@click.option("--gateway", "gateway_url", help=_GATEWAY_HELP)
def demo_token(agency_id: str, scope: str | None, gateway_url: str | None) -> None:
    """Print an access token for a demo agency, fetched with its demo key (private_key_jwt)."""
    settings = demo_settings(gateway_url, load_settings)
    path = key_path(settings.demo_dir, agency_id)
    if not path.exists():
        raise click.ClickException(f"no demo key at {path}; start `gateway serve --demo` first")
    with TokenSource(
        settings.token_endpoint, AgencyKey.from_jwk_file(agency_id, path), scope=scope
    ) as tokens:
        try:
            click.echo(tokens.token())
        except Exception as failed:  # the SDK's and httpx's errors alike end the command
            raise click.ClickException(f"could not get a token: {failed}") from None


@demo_group.command("url")
def demo_url() -> None:
    """Print the demo gateway's base URL (it takes another port when 8000 is taken)."""
    click.echo(demo_settings(load=load_settings).issuer)
