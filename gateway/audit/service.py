"""The audit log's write side: recording events, sequencing them into the tree, signing
checkpoints, and answering proofs.

Recording is a plain insert into the caller's transaction, so an entry commits exactly when the
change it records commits. Sequencing happens afterwards, in batches, by whichever gateway
process holds the sequencer lock: it gives each committed entry the next leaf index, stores the
Merkle nodes it completes, and signs a checkpoint of the new tree head.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.digests import DigestKeys
from gateway.audit.events import AuditEvent, EventType
from gateway.audit.keys import Pseudonymizer
from gateway.audit.merkle import consistency_proof, inclusion_proof, leaf_hash
from gateway.audit.notes import Checkpoint, Signer, Verifier, sign_checkpoint
from gateway.audit.tables import AuditCheckpoint, AuditLeaf
from gateway.db.engine import Database

# 2: the payload as a keyed digest (payload_hmac), the caseworker as a keyed pseudonym.
# Entries of version 1 keep their plain payload_sha256 and caseworker: entries never change.
ENTRY_VERSION = 2
SEQUENCE_BATCH = 5000
log = logging.getLogger(__name__)


class AuditStateError(RuntimeError):
    """The sequencer's saved state disagrees with the stored leaves; nothing is signed."""


@dataclass(frozen=True)
class Published:
    size: int
    note: str


def encode(body: dict[str, Any]) -> str:
    """RFC 8785 canonical JSON: the exact bytes a leaf hashes."""
    return rfc8785.dumps(body).decode()


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# The entry columns copied from its body for searching, in this order.
SEARCHABLE = ("event", "actor", "requester", "provider", "decision", "reason", "purpose",
              "categories", "subject")  # fmt: skip


def searchable_columns(body: dict[str, Any]) -> dict[str, Any]:
    """The entry columns copied from its body for searching (verification compares them)."""
    return dict(zip(SEARCHABLE, searchable_values(body), strict=True))


def searchable_values(body: dict[str, Any]) -> tuple[Any, ...]:
    """``searchable_columns`` as a tuple, in ``SEARCHABLE`` order: what verification compares
    with each stored row (a tuple is cheaper to make than a dict, a million times over)."""
    get = body.get
    categories = get("categories")
    return (
        body["event"],
        get("actor"),
        get("requester"),
        get("provider"),
        get("decision"),
        get("reason"),
        get("purpose"),
        f" {' '.join(categories)} " if categories else None,
        get("subject"),
    )


class AuditLog:
    def __init__(self, pseudonymizer: Pseudonymizer, signer: Signer, digests: DigestKeys):
        self.pseudonymizer = pseudonymizer
        self.signer = signer
        self.digests = digests

    @property
    def verifier(self) -> Verifier:
        return self.signer.verifier

    # -- recording --------------------------------------------------------------------------

    def record(self, session: Session, event: AuditEvent, now: datetime | None = None) -> None:
        """Append ``event`` in ``session``'s transaction: it commits, or vanishes, with it."""
        moment = now or datetime.now(UTC)
        body = self.body_of(event, moment)
        repository.append(
            session, {"recorded_at": moment, "body": encode(body), **searchable_columns(body)}
        )

    def body_of(self, event: AuditEvent, moment: datetime) -> dict[str, Any]:
        """The entry for ``event``: everything that turns an event into an entry is here, so
        no feature ever writes a subject, a caseworker id or a payload readably."""
        body: dict[str, Any] = {
            "v": ENTRY_VERSION,
            "time": format_time(moment),
            "event": event.type.value,
        }
        optional = {
            "actor": event.actor,
            "requester": event.requester,
            "provider": event.provider,
            "purpose": event.purpose,
            "decision": event.decision.value if event.decision else None,
            "reason": event.reason,
            "legal_basis": event.legal_basis,
            "consent_id": event.consent_id,
            "consent_version": event.consent_version,
            "policy_id": event.policy_id,
            "policy_set_digest": event.policy_set_digest,
            "request_id": event.request_id,
            "trace_id": event.trace_id,
        }
        body.update({name: value for name, value in optional.items() if value is not None})
        if event.categories:
            body["categories"] = sorted(event.categories)
        if event.subject_id is not None:
            body["subject"] = self.pseudonymizer.pseudonym(event.subject_id)
        if event.caseworker is not None:
            # The caller sent it (X-Caseworker), so the caller is the agency that names it.
            agency = event.actor or event.requester or ""
            body["caseworker"] = self.digests.caseworker(agency, event.caseworker)
        if event.payload is not None:
            body["payload_hmac"] = self.digests.payload(
                body.get("subject"), body["time"], event.payload
            )
        if event.justification is not None:
            body["justification_hmac"] = self.digests.justification(
                body.get("subject"), body["time"], event.justification
            )
        if event.details:
            body["details"] = dict(event.details)
        return body

    def payload_matches(self, body: dict[str, Any], payload: bytes) -> bool:
        """Whether the entry ``body`` recorded the release of exactly ``payload`` (the bytes
        the feature passed as the event's payload), whichever key or version digested it."""
        if "payload_hmac" in body:
            return self.digests.payload_matches(
                str(body["payload_hmac"]), body.get("subject"), str(body["time"]), payload
            )
        if "payload_sha256" in body:  # version 1
            plain = hashlib.sha256(payload).hexdigest()
            return hmac.compare_digest(plain, str(body["payload_sha256"]))
        return False

    # -- sequencing and checkpoints ---------------------------------------------------------

    def publish(self, database: Database, batch: int = SEQUENCE_BATCH) -> Published:
        """Place every committed entry in the tree and sign a checkpoint of the new head."""
        while True:
            with database.transaction() as session:
                repository.lock_sequencer(session)
                taken, set_aside = self._sequence(session, batch)
                published = self._checkpoint(session)
            # What a set-aside row records waits in the queue: one more round places it.
            if taken < batch and not set_aside:
                return published

    def _sequence(self, session: Session, batch: int) -> tuple[int, int]:
        """Place up to ``batch`` waiting entries; returns how many were taken off the queue
        and how many of those were set aside.

        A row that cannot be an entry (no content, or not an entry's JSON: only someone
        writing to the database makes one) is set aside instead of stopping the log: taken
        off the queue without a place, logged, and recorded as an entry of its own, so the
        log goes on being signed and verification names the row as not part of the log."""
        frontier = repository.load_frontier(session)
        highest = session.scalar(select(func.max(AuditLeaf.seq)))
        if (highest + 1 if highest is not None else 0) != frontier.size:
            raise AuditStateError("the saved tree size does not match the stored leaves")
        pending = repository.pending_entries(session, batch)
        leaves: list[dict[str, object]] = []
        nodes: list[dict[str, object]] = []
        set_aside: list[tuple[int, str]] = []
        for entry_id, body in pending:
            problem = unreadable(body)
            if problem is not None:
                set_aside.append((entry_id, problem))
                continue
            assert body is not None  # unreadable() said so
            digest = leaf_hash(body.encode())
            leaves.append({"seq": frontier.size, "entry_id": entry_id, "leaf_hash": digest})
            for level, index, node in frontier.append(digest):
                nodes.append({"level": level, "idx": index, "hash": node})
        if pending:
            repository.place(session, leaves, nodes, [entry_id for entry_id, _ in pending])
            repository.save_frontier(session, frontier)
        for entry_id, problem in set_aside:
            # The row's id and what is wrong with it: never its content.
            log.warning(
                "audit entry %d set aside: %s; it is not placed in the log", entry_id, problem
            )
            self.record(
                session,
                AuditEvent(
                    EventType.AUDIT_ENTRY_SET_ASIDE,
                    details={"entry_id": entry_id, "problem": problem},
                ),
            )
        return len(pending), len(set_aside)

    def _checkpoint(self, session: Session) -> Published:
        frontier = repository.load_frontier(session)
        latest = repository.latest_checkpoint(session)
        if latest is not None and latest.size == frontier.size:
            return Published(latest.size, latest.note)
        checkpoint = Checkpoint(self.signer.name, frontier.size, frontier.root())
        note = sign_checkpoint(checkpoint, self.signer)
        repository.add_checkpoint(
            session,
            AuditCheckpoint(
                size=checkpoint.size,
                root=checkpoint.root,
                note=note,
                created_at=datetime.now(UTC),
            ),
        )
        return Published(checkpoint.size, note)

    # -- reading ----------------------------------------------------------------------------

    @staticmethod
    def latest(session: Session) -> AuditCheckpoint | None:
        return repository.latest_checkpoint(session)

    @staticmethod
    def inclusion(session: Session, index: int, size: int) -> list[bytes]:
        return inclusion_proof(index, size, lambda wanted: repository.nodes(session, wanted))

    @staticmethod
    def consistency(session: Session, first: int, second: int) -> list[bytes]:
        return consistency_proof(first, second, lambda wanted: repository.nodes(session, wanted))

    @staticmethod
    def leaf_of(session: Session, index: int) -> AuditLeaf | None:
        return repository.leaf(session, index)


def unreadable(body: str | None) -> str | None:
    """What keeps a stored row from being placed as an entry, or None if nothing does."""
    if body is None:
        return "no_content"
    try:
        decoded = json.loads(body)
    except ValueError:
        return "not_an_entry"
    if not isinstance(decoded, dict) or not isinstance(decoded.get("event"), str):
        return "not_an_entry"
    try:
        body.encode()
    except UnicodeError:  # a lone surrogate, which only SQLite would store
        return "not_an_entry"
    return None


def decode(body: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(body)
    return decoded
