"""``gateway policy``: check policy files before deploying them."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.context import load_settings
from gateway.policy.loader import REFERENCE_POLICIES, PolicyError, load_policies


@click.group("policy")
def policy_group() -> None:
    """Check the reviewable policy files."""


@policy_group.command("check")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
def check(folder: Path | None) -> None:
    """Validate the policy files in FOLDER (default: GATEWAY_POLICY_DIR)."""
    folder = folder or load_settings().policy_dir or REFERENCE_POLICIES
    try:
        policies = load_policies(folder)
    except PolicyError as invalid:
        raise click.ClickException(str(invalid)) from None
    click.echo(
        f"valid: {len(policies.flows)} flows in {', '.join(policies.files)}; "
        f"digest {policies.digest}"
    )
