"""``gateway policy``: check policy files before deploying them."""

from __future__ import annotations

from pathlib import Path

import click

from consent.vocabulary import AgencyKind, Category, Purpose
from gateway.cli.context import load_settings
from gateway.policy.loader import REFERENCE_POLICIES, PolicyError, load_policies
from gateway.policy.models import ExplainIn
from gateway.policy.service import explain


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
    for flow in policies.flows:
        if flow.confided is not None:
            click.echo(
                f"confided: {flow.name} {', '.join(sorted(flow.confided.categories))} "
                f"({flow.confided.citation}): only with the confiding person's consent"
            )
        if flow.emergency is not None:
            click.echo(
                f"emergency: {flow.name} ({flow.legal_basis.statute}): emergency queries only, "
                f"reasons {', '.join(sorted(flow.emergency.reasons))}, window at most "
                f"{flow.emergency.max_window_hours} hours, each use reviewed by a DPO"
            )


@policy_group.command("explain")
@click.option(
    "--from", "provider_kind", required=True, type=click.Choice([k.value for k in AgencyKind])
)
@click.option(
    "--to", "recipient_kind", required=True, type=click.Choice([k.value for k in AgencyKind])
)
@click.option("--category", required=True, type=click.Choice([c.value for c in Category]))
@click.option("--purpose", required=True, type=click.Choice([p.value for p in Purpose]))
@click.option(
    "--cross-municipality", is_flag=True, help="The two agencies are in different places."
)
@click.option(
    "--emergency",
    is_flag=True,
    help="Ask about an emergency query (§ 8a SGB VIII): over emergency flows only.",
)
def explain_command(
    provider_kind: str,
    recipient_kind: str,
    category: str,
    purpose: str,
    cross_municipality: bool,
    emergency: bool,
) -> None:
    """Say whether a flow is allowed, on what basis, and which fields it releases."""
    folder = load_settings().policy_dir or REFERENCE_POLICIES
    try:
        policies = load_policies(folder)
    except PolicyError as invalid:
        raise click.ClickException(str(invalid)) from None
    question = ExplainIn.model_validate(
        {"from": provider_kind, "to": recipient_kind, "category": category, "purpose": purpose,
         "cross_municipality": cross_municipality, "emergency": emergency}
    )  # fmt: skip
    answer = explain(policies, question)
    click.echo(answer.explanation)
    if answer.allowed:
        click.echo(f"released fields: {', '.join(answer.released_fields)}")
        for flow in answer.flows:
            mark = flow.confided
            marked = mark is not None and category in mark.categories
            note = f", confided: {mark.citation}" if mark is not None and marked else ""
            if flow.emergency is not None:
                note += f", emergency: window at most {flow.emergency.max_window_hours} hours"
            click.echo(
                f"flow: {flow.policy_id}/{flow.id} (retention {flow.retention_days} days{note})"
            )
