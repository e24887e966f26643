"""Entry point of the ``gateway`` command; each feature contributes its own commands."""

from __future__ import annotations

import click

from gateway.agencies.cli import agency_group, dpo_group, monitoring_group
from gateway.audit.cli import audit_group
from gateway.cli.serve import serve
from gateway.db.cli import db_group
from gateway.demo.cli import demo_group
from gateway.dpo.cli import add_user, disable_user, reset_totp
from gateway.keys.cli import keys_group
from gateway.monitoring.cli import aggregate_command
from gateway.policy.cli import policy_group


@click.group()
@click.version_option(package_name="consent-gateway")
def cli() -> None:
    """Consent-aware data-exchange gateway for city agencies.

    Configuration comes from GATEWAY_* environment variables (see README).
    """


for command in (
    serve,
    db_group,
    agency_group,
    dpo_group,
    monitoring_group,
    keys_group,
    audit_group,
    policy_group,
    demo_group,
):
    cli.add_command(command)
monitoring_group.add_command(aggregate_command)
dpo_group.add_command(add_user)
dpo_group.add_command(disable_user)
dpo_group.add_command(reset_totp)
