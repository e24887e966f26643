"""All SQL of emergency access."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gateway.audit.tables import AuditEntry
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.settings import EMERGENCY_DEFERRAL_CEILING_DAYS

_LOCK_CLASS = 0x8A  # the first key of the advisory locks below: § 8a


def hold_recipient(session: Session, recipient: str) -> None:
    """Serialise the emergency releases of one agency until this transaction ends: its daily
    limit is counted, and a window opened, by one at a time. Ordinary releases never wait for
    it. (SQLite: its writers hold the database's write lock already.)"""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(recipient.encode()) - 2**31  # PostgreSQL's int4
        connection.execute(text("SELECT pg_advisory_xact_lock(:kind, :key)"),
                           {"kind": _LOCK_CLASS, "key": key})  # fmt: skip


def open_window(
    session: Session, subject_id: str, recipient: str, at: datetime
) -> EmergencyWindow | None:
    """The window this agency's emergency queries about this person fall in at ``at``."""
    return session.scalars(
        select(EmergencyWindow)
        .where(
            EmergencyWindow.subject_id == subject_id,
            EmergencyWindow.recipient == recipient,
            EmergencyWindow.closes_at > at,
            EmergencyWindow.opened_at <= at,
        )
        .order_by(EmergencyWindow.opened_at.desc())
        .limit(1)
    ).first()


def uses_since(session: Session, recipient: str, since: datetime) -> int:
    """The agency's emergency releases from ``since`` on."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(EmergencyUse)
            .where(EmergencyUse.recipient == recipient, EmergencyUse.used_at >= since)
        )
        or 0
    )


def add(session: Session, *rows: EmergencyWindow | EmergencyUse) -> None:
    session.add_all(rows)
    session.flush()


def window(session: Session, window_id: str, *, for_update: bool = False) -> EmergencyWindow | None:
    return session.get(EmergencyWindow, window_id, with_for_update=for_update)


def uses_in(session: Session, window_id: str) -> Sequence[EmergencyUse]:
    return session.scalars(
        select(EmergencyUse)
        .where(EmergencyUse.window_id == window_id)
        .order_by(EmergencyUse.used_at)
    ).all()


def use(session: Session, use_id: str) -> EmergencyUse | None:
    return session.get(EmergencyUse, use_id)


def windows(session: Session) -> Sequence[EmergencyWindow]:
    """Every window, newest first."""
    return session.scalars(select(EmergencyWindow).order_by(EmergencyWindow.opened_at.desc())).all()


def providers_and_uses(session: Session) -> dict[str, tuple[list[str], int]]:
    """Per window: the providing agencies of its uses (sorted) and how many uses it has."""
    found: dict[str, tuple[list[str], int]] = {}
    rows = session.execute(
        select(EmergencyUse.window_id, EmergencyUse.provider, func.count())
        .group_by(EmergencyUse.window_id, EmergencyUse.provider)
        .order_by(EmergencyUse.window_id, EmergencyUse.provider)
    )
    for window_id, provider, count in rows:
        providers, uses = found.get(window_id, ([], 0))
        found[window_id] = ([*providers, provider], uses + int(count))
    return found


def release_entry_bodies(session: Session, pseudonym: str, use: EmergencyUse) -> Sequence[str]:
    """The bodies of the permits recorded about this person between the use's provider and
    recipient, newest first (the use's own among them, unless pruned)."""
    bodies = session.scalars(
        select(AuditEntry.body)
        .where(
            AuditEntry.subject == pseudonym,
            AuditEntry.event == "exchange.decided",
            AuditEntry.decision == "permit",
            AuditEntry.requester == use.recipient,
            AuditEntry.provider == use.provider,
        )
        .order_by(AuditEntry.id.desc())
    )
    return [body for body in bodies if body]


def overdue_count(session: Session, at: datetime) -> int:
    """Windows whose review is due and not done."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(EmergencyWindow)
            .where(EmergencyWindow.reviewed_at.is_(None), EmergencyWindow.review_due_at < at)
        )
        or 0
    )


def unreviewed_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(EmergencyWindow)
            .where(EmergencyWindow.reviewed_at.is_(None))
        )
        or 0
    )


def use_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(EmergencyUse)) or 0)


def deferred_uses(
    session: Session, subject_id: str, at: datetime
) -> list[tuple[str, str, str | None]]:
    """Each use in the person's windows whose disclosure is deferred at ``at``: (window id,
    the agency that asked, the use's exchange id, or None for a window whose uses are no
    longer kept). The portal hides all three: the person's pages must not give the emergency
    away before the date. A deferral beyond the ceiling no deployment may set
    (``EMERGENCY_DEFERRAL_CEILING_DAYS`` after the window opened) counts for nothing: only
    someone writing to the database makes one, to hide an emergency access for good."""
    ceiling = timedelta(days=EMERGENCY_DEFERRAL_CEILING_DAYS)
    rows = session.execute(
        select(
            EmergencyWindow.id,
            EmergencyWindow.recipient,
            EmergencyUse.id,
            EmergencyWindow.opened_at,
            EmergencyWindow.deferred_until,
        )
        .outerjoin(EmergencyUse, EmergencyUse.window_id == EmergencyWindow.id)
        .where(EmergencyWindow.subject_id == subject_id, EmergencyWindow.deferred_until > at)
    )
    return [
        (window_id, recipient, use_id)
        for window_id, recipient, use_id, opened_at, until in rows
        if until is not None and until <= opened_at + ceiling
    ]


def deferrals_ended(session: Session, at: datetime, limit: int) -> Sequence[EmergencyWindow]:
    """Windows whose deferral has run out and whose end is not on record yet."""
    return session.scalars(
        select(EmergencyWindow)
        .where(
            EmergencyWindow.deferred_until <= at,
            EmergencyWindow.deferral_end_recorded_at.is_(None),
        )
        .order_by(EmergencyWindow.deferred_until)
        .limit(limit)
        .with_for_update()
    ).all()
