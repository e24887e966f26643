"""``gateway person restrict|unrestrict|hold|release-hold|erase|show``: a DPO's requests about one
person, run by the operator on the gateway's host (audited as ``operator``).

The person is named by ``--agency`` and that agency's ``--reference``; without
``--reference`` the command asks for it, so that it stays out of the shell's history and the
process list. ``erase`` asks for confirmation unless ``--yes``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from gateway.audit.events import OPERATOR
from gateway.cli.context import load_settings, migrated_database
from gateway.db.engine import Database
from gateway.persons import service
from gateway.persons.service import EXPLAINED, Action, Erased, NotFound, State
from gateway.runtime import open_audit_log

_NOT_FOUND = "the gateway knows nobody under this agency's reference"


@click.group("person")
def person_group() -> None:
    """Restrict, hold or erase one person's data on request (Art. 17, 18 GDPR)."""


def _person(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--reference",
        prompt="That agency's file reference",
        hide_input=False,
        help="That agency's file reference (asked for when left out: keeps it out of the "
        "shell's history).",
    )(command)
    return click.option("--agency", required=True, help="The agency's id, e.g. koeln-jobcenter")(
        command
    )


def _with_database(work: Callable[[Database], Any]) -> Any:
    database = migrated_database(load_settings())
    try:
        return work(database)
    except NotFound:
        raise click.ClickException(_NOT_FOUND) from None
    finally:
        database.dispose()


def _show(state: State) -> None:
    for name, mark in (("restricted", state.restriction), ("legal hold", state.hold)):
        if mark is None:
            click.echo(f"{name}: no")
        else:
            click.echo(f"{name}: since {mark.at.isoformat()} by {mark.by}")
    click.echo(f"active consents: {state.active_consents}")
    click.echo(f"unanswered withdrawal notices: {state.open_notices}")
    click.echo(f"unanswered requests to correct: {state.open_rectifications}")
    click.echo(f"records of emergency access: {state.emergency_records}")
    click.echo(f"messages waiting: {state.pending_messages}")


def _control(action: Action, done: str, already: str) -> Callable[..., None]:
    def command(agency: str, reference: str, note: str | None = None) -> None:
        settings = load_settings()
        changed = _with_database(
            lambda database: service.control(
                database,
                open_audit_log(settings),
                action,
                agency=agency,
                reference=reference,
                actor=OPERATOR,
                note=note,
                now=datetime.now(UTC),
            )
        )
        click.echo(done if changed.changed else already)

    return command


_NOTE = click.option(
    "--reason",
    "note",
    default=None,
    type=click.STRING,
    help="Why (kept for the DPO pages, never written to the audit log; at most 500 characters).",
)


@person_group.command("restrict")
@_person
@_NOTE
def restrict(agency: str, reference: str, note: str | None) -> None:
    """Restrict the person's processing (Art. 18): nothing of theirs is released or erased."""
    _check_note(note)
    _control(Action.RESTRICT, "restricted", "already restricted")(agency, reference, note)


@person_group.command("unrestrict")
@_person
def unrestrict(agency: str, reference: str) -> None:
    """Lift the restriction: releases are decided as before."""
    _control(Action.UNRESTRICT, "restriction lifted", "not restricted")(agency, reference)


@person_group.command("hold")
@_person
@_NOTE
def hold(agency: str, reference: str, note: str | None) -> None:
    """Set a legal hold: nothing of the person's is erased; releases go on."""
    _check_note(note)
    _control(Action.HOLD, "legal hold set", "already on legal hold")(agency, reference, note)


@person_group.command("release-hold")
@_person
def release_hold(agency: str, reference: str) -> None:
    """Lift the legal hold: the lifecycle erases what is due again."""
    _control(Action.RELEASE_HOLD, "legal hold lifted", "not on legal hold")(agency, reference)


@person_group.command("show")
@_person
def show(agency: str, reference: str) -> None:
    """What is set on the person and what keeps their data from being erased now."""
    audit = open_audit_log(load_settings())
    _show(
        _with_database(
            lambda database: service.state(
                database,
                audit,
                agency=agency,
                reference=reference,
                actor=OPERATOR,
                now=datetime.now(UTC),
            )
        )
    )


@person_group.command("erase")
@_person
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(agency: str, reference: str, yes: bool) -> None:
    """Erase everything of the person now (Art. 17): consents with their evidence, ledger
    rows, closed messages, references. Refused while something must be kept."""
    if not yes:
        click.confirm(
            "Erase everything the gateway holds about this person? This cannot be undone",
            abort=True,
        )
    settings = load_settings()
    outcome = _with_database(
        lambda database: service.erase(
            database,
            open_audit_log(settings),
            agency=agency,
            reference=reference,
            actor=OPERATOR,
            now=datetime.now(UTC),
        )
    )
    if isinstance(outcome, Erased):
        click.echo(
            "erased: " + " ".join(f"{name}={count}" for name, count in outcome.counts.items())
        )
        return
    reasons = "; ".join(EXPLAINED[reason] for reason in outcome.reasons)
    raise click.ClickException(f"erasure refused: {reasons}")


def _check_note(note: str | None) -> None:
    if note is not None and len(note) > service.NOTE_MAX:
        raise click.BadParameter(f"at most {service.NOTE_MAX} characters", param_hint="--reason")
