"""What the gateway keeps of its witnesses (C2SP tlog-witness): the cosignatures it received,
each verified before it was stored, and where each witness stands; and the cosigned
checkpoint built from them. In the database, so every gateway process sees the same."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.cosignatures import WitnessPolicy, with_cosignatures
from gateway.audit.tables import AuditCheckpoint, AuditCosignature, AuditWitness

# A witness that answered with one of these will not cosign this log's history as it stands:
# a split view, a rolled-back log, or a witness not set up for this log.
REFUSALS = frozenset({"inconsistent", "ahead", "forbidden", "unknown_log", "bad_cosignature"})
# How long a witness may stay behind the newest checkpoint before it counts as lagging: a
# checkpoint is submitted within about a second; a round later it should be cosigned.
LAG_GRACE = timedelta(seconds=30)


def state_of(session: Session, witness: str) -> AuditWitness:
    """The witness's row, made (size 0) on first use; two processes making it at once keep
    one."""
    state = session.get(AuditWitness, witness)
    if state is not None:
        return state
    # Another process making it at the same moment is as good: keep theirs.
    with contextlib.suppress(IntegrityError), session.begin_nested():
        session.add(AuditWitness(witness=witness, size=0))
    state = session.get(AuditWitness, witness, populate_existing=True)
    assert state is not None
    return state


def record_cosignature(
    session: Session, witness: str, size: int, lines: list[str], now: datetime
) -> None:
    """Keep ``lines`` (verified cosignatures by ``witness`` on the checkpoint of ``size``)
    and move the witness's size forward: never back, whichever process stores last."""
    state_of(session, witness)
    known = session.get(AuditCosignature, (witness, size))
    if known is None:
        # Another gateway process may have stored this witness's one for this size: keep it.
        with contextlib.suppress(IntegrityError), session.begin_nested():
            session.add(
                AuditCosignature(witness=witness, size=size, signature=lines[0], received_at=now)
            )
    session.execute(
        update(AuditWitness)
        .where(AuditWitness.witness == witness, AuditWitness.size <= size)
        .values(size=size, cosigned_at=now, attempted_at=now, problem=None, detail=None)
    )


def record_problem(
    session: Session, witness: str, problem: str, detail: str, now: datetime
) -> None:
    state = state_of(session, witness)
    state.attempted_at, state.problem, state.detail = now, problem, detail[:500]


def cosigned_checkpoint(session: Session, policy: WitnessPolicy) -> str | None:
    """The newest checkpoint that satisfies ``policy``, with every stored cosignature for its
    size; if none does yet, the newest checkpoint with what it has. None before the first."""
    names = [witness.name for witness in policy.witnesses]
    size = None
    if names and policy.quorum > 0:
        size = session.scalar(
            select(AuditCosignature.size)
            .where(AuditCosignature.witness.in_(names))
            .group_by(AuditCosignature.size)
            .having(func.count(AuditCosignature.witness) >= policy.quorum)
            .order_by(AuditCosignature.size.desc())
            .limit(1)
        )
    checkpoint = (
        session.get(AuditCheckpoint, size)
        if size is not None
        else repository.latest_checkpoint(session)
    )
    if checkpoint is None:
        return None
    return with_cosignatures(checkpoint.note, cosignature_lines(session, checkpoint.size))


def cosignature_lines(session: Session, size: int) -> list[str]:
    """Every stored cosignature on the checkpoint of ``size``, each line ending in a newline."""
    lines = session.scalars(
        select(AuditCosignature.signature)
        .where(AuditCosignature.size == size)
        .order_by(AuditCosignature.witness)
    )
    return [f"{line}\n" for line in lines]


@dataclass(frozen=True)
class WitnessStatus:
    name: str
    status: str  # ok | lagging | refused
    size: int  # the size it last cosigned
    behind: int  # entries between that and the newest checkpoint
    cosigned_at: datetime | None
    problem: str | None
    detail: str | None


def witness_statuses(
    session: Session, names: list[str], now: datetime | None = None
) -> list[WitnessStatus]:
    """Where each witness stands against the newest checkpoint, for /readyz and /metrics."""
    moment = now or datetime.now(UTC)
    latest = repository.latest_checkpoint(session)
    newest = latest.size if latest else 0
    stale = latest is not None and moment - latest.created_at > LAG_GRACE
    rows = {row.witness: row for row in session.scalars(select(AuditWitness))}
    statuses = []
    for name in names:
        row = rows.get(name)
        size = row.size if row else 0
        problem = row.problem if row else None
        if problem in REFUSALS:
            status = "refused"
        elif problem is not None or (size < newest and stale):
            status = "lagging"
        else:
            status = "ok"
        statuses.append(
            WitnessStatus(
                name,
                status,
                size,
                max(newest - size, 0),
                row.cosigned_at if row else None,
                problem,
                row.detail if row else None,
            )
        )
    return statuses


def overall(statuses: list[WitnessStatus]) -> str:
    if not statuses:
        return "none"
    for worst in ("refused", "lagging"):
        if any(status.status == worst for status in statuses):
            return worst
    return "ok"
