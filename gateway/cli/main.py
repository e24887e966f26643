"""Entry point of the ``gateway`` command; each feature contributes its own commands."""

from __future__ import annotations

import errno
import logging
import os
from typing import Any

import click

from gateway.agencies.cli import agency_group, client_key, dpo_group, monitoring_group
from gateway.audit.cli import audit_group
from gateway.cli.serve import serve
from gateway.db.cli import db_group
from gateway.demo.cli import demo_group
from gateway.dpo.cli import add_user, disable_user, reset_totp
from gateway.errors import DatabaseUnavailable
from gateway.keys.cli import keys_group
from gateway.lifecycle.cli import lifecycle_group
from gateway.monitoring.cli import aggregate_command
from gateway.persons.cli import person_group
from gateway.policy.cli import policy_group
from gateway.witness.cli import witness_group

# Storage the gateway cannot write: full, read-only, or not the gateway's to write.
_UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class _Gateway(click.Group):
    """Every command ends in one line (and a non-zero exit) when the database, or the disk
    under the key folder, cannot be used: an operator starting the gateway on a full disk or
    a read-only database file used to read a long traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseUnavailable as unavailable:
            raise click.ClickException(
                f"the database {unavailable.database} {unavailable.cause}"
            ) from None
        except OSError as error:
            if error.errno not in _UNWRITABLE:
                raise
            what = error.filename or "a file"
            raise click.ClickException(f"cannot write {what}: {os.strerror(error.errno)}") from None


@click.group(cls=_Gateway)
@click.version_option(package_name="consent-gateway")
def cli() -> None:
    """Consent-aware data-exchange gateway for city agencies.

    Configuration comes from GATEWAY_* environment variables (see README).
    """
    # A command speaks through its output and its errors; the log is the server's, set up
    # when the app starts (observability.logging replaces this handler). Without one,
    # Python would print the records a command's database work logs, the outage's among them.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


for command in (
    serve,
    db_group,
    agency_group,
    dpo_group,
    monitoring_group,
    keys_group,
    audit_group,
    lifecycle_group,
    person_group,
    policy_group,
    demo_group,
    witness_group,
    client_key,
):
    cli.add_command(command)
monitoring_group.add_command(aggregate_command)
dpo_group.add_command(add_user)
dpo_group.add_command(disable_user)
dpo_group.add_command(reset_totp)
