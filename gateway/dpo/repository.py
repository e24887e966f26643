"""All SQL of the DPO pages: their users, and read-only questions to the audit log, the
registry and the withdrawal notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.agencies.tables import Agency, Client
from gateway.audit.tables import AuditCheckpoint, AuditEntry, AuditLeaf
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.dpo.tables import DpoUser

# -- users -------------------------------------------------------------------------------------


def user(session: Session, user_id: str, *, for_update: bool = False) -> DpoUser | None:
    if len(user_id) > 64:
        return None
    return session.get(DpoUser, user_id, with_for_update=for_update)


def add_user(session: Session, new: DpoUser) -> bool:
    """Insert; False (and nothing written) if the id is taken."""
    if session.get(DpoUser, new.id) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(new)
    except IntegrityError:  # another add of the same id won the race
        return False
    return True


def users_sealed_with_other_keys(session: Session, key_id: str) -> Sequence[DpoUser]:
    """Users whose TOTP secret another key than ``key_id`` wraps (locked: a rotation's
    re-wrap must not cross a sign-in's update of the same row)."""
    return session.scalars(
        select(DpoUser)
        .where(DpoUser.totp_key_id.is_not(None), DpoUser.totp_key_id != key_id)
        .order_by(DpoUser.id)
        .with_for_update()
    ).all()


def totp_key_ids(session: Session) -> set[str]:
    """The key-encryption keys the users' TOTP secrets need."""
    found = session.scalars(select(DpoUser.totp_key_id).distinct())
    return {key_id for key_id in found if key_id is not None}


# -- the audit log, aggregated ---------------------------------------------------------------


def _day(session: Session) -> Any:
    """The UTC calendar day of an entry, as the database computes it."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", AuditEntry.recorded_at), Date)
    return func.date(AuditEntry.recorded_at)  # SQLite keeps UTC text: "YYYY-MM-DD ..."


def decisions_per_day(
    session: Session, since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(day "YYYY-MM-DD", decision, count) of every entry that records a decision."""
    day = _day(session).label("day")
    rows = session.execute(
        select(day, AuditEntry.decision, func.count())
        .where(
            AuditEntry.recorded_at >= since,
            AuditEntry.recorded_at < until,
            AuditEntry.decision.is_not(None),
        )
        .group_by(day, AuditEntry.decision)
    )
    return [(str(when)[:10], str(decision), int(count)) for when, decision, count in rows]


def denials_by_reason(session: Session, since: datetime, until: datetime) -> list[tuple[str, int]]:
    count = func.count().label("count")
    rows = session.execute(
        select(AuditEntry.reason, count)
        .where(
            AuditEntry.recorded_at >= since,
            AuditEntry.recorded_at < until,
            AuditEntry.decision == "deny",
        )
        .group_by(AuditEntry.reason)
        .order_by(count.desc(), AuditEntry.reason)
    )
    return [(reason or "", int(number)) for reason, number in rows]


def releases_per_flow(
    session: Session, since: datetime, until: datetime, limit: int
) -> list[tuple[str, str, str, int]]:
    """(provider, recipient, category, count) of permitted exchanges: each permit entry of an
    exchange is one category released from one agency to another."""
    count = func.count().label("count")
    rows = session.execute(
        select(AuditEntry.provider, AuditEntry.requester, AuditEntry.categories, count)
        .where(
            AuditEntry.recorded_at >= since,
            AuditEntry.recorded_at < until,
            AuditEntry.event == "exchange.decided",
            AuditEntry.decision == "permit",
        )
        .group_by(AuditEntry.provider, AuditEntry.requester, AuditEntry.categories)
        .order_by(count.desc(), AuditEntry.provider, AuditEntry.requester, AuditEntry.categories)
        .limit(limit)
    )
    return [
        (provider or "", requester or "", (categories or "").strip(), int(number))
        for provider, requester, categories, number in rows
    ]


def latest_entry_of(session: Session, event: str) -> AuditEntry | None:
    return session.scalar(
        select(AuditEntry)
        .where(AuditEntry.event == event, AuditEntry.body.is_not(None))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def placed_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditLeaf)) or 0)


def recent_checkpoints(session: Session, limit: int) -> Sequence[AuditCheckpoint]:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(limit)
    ).all()


def checkpoint_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


# -- registry and notices ----------------------------------------------------------------------


def agency_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Agency.id).order_by(Agency.id)))


def agency_names(session: Session) -> dict[str, str]:
    """Every agency's registered display name by its id, in the order of the names."""
    rows = session.execute(
        select(Client.id, Client.name).join(Agency, Agency.id == Client.id).order_by(Client.name)
    )
    return {agency_id: name for agency_id, name in rows}


def actor_names(session: Session) -> dict[str, str]:
    """The display names of whoever can act: OAuth clients (agencies, DPO tools, monitoring)
    and DPO users, by id (a client's name wins should a user have the same id)."""
    users = session.execute(select(DpoUser.id, DpoUser.name))
    clients = session.execute(select(Client.id, Client.name))
    return {found: name for found, name in [*users, *clients]}


def outstanding_notices(session: Session) -> Sequence[WithdrawalNotice]:
    return session.scalars(
        select(WithdrawalNotice)
        .where(WithdrawalNotice.acknowledged_at.is_(None))
        .order_by(WithdrawalNotice.created_at, WithdrawalNotice.id)
    ).all()


def outstanding_notice_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(WithdrawalNotice)
            .where(WithdrawalNotice.acknowledged_at.is_(None))
        )
        or 0
    )
