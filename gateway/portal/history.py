"""Who asked about me: the person's own entries in the audit log, in plain words.

Each time an office asked another for information about the person, sent or received a message
about them, or a message about them was stopped: when, which offices (by name), which
information, what for, and what came of it (with the reason, in plain words, when refused).
Only the person's own entries are read (by their pseudonym), and only names of offices, kinds
of information and purposes are shown: never pseudonyms, references or caseworkers.

An emergency query (§ 8a SGB VIII) has a heading of its own and is explained under it; what a
DPO deferred showing is left out until its date (``gateway.portal.emergencies``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consent.model import Status
from gateway.audit.events import Decision, EventType
from gateway.audit.query import EntryView, about_subject
from gateway.audit.service import AuditLog
from gateway.consents import repository as consents
from gateway.consents.tables import ConsentVersion
from gateway.emergency import disclosure
from gateway.portal import emergencies, labels
from gateway.portal.labels import Badge, Reader
from gateway.portal.views import AgencyView, agencies, last_versions, short_number
from gateway.web.i18n import N_

# Each entry's heading: what happened, between which offices (its time stands below it).
TEXTS = {
    EventType.EXCHANGE_DECIDED: N_("%(recipient)s asked %(provider)s about you"),
    EventType.MESSAGE_SENT: N_("%(provider)s sent %(recipient)s a message about you"),
    EventType.MESSAGE_FETCHED: N_("%(recipient)s received a message about you from %(provider)s"),
    EventType.MESSAGE_PURGED: N_(
        "A message about you from %(provider)s to %(recipient)s was not delivered"
    ),
}
# One symbol each (macros.html), none pointing left or right: they read alike both ways.
PASSED_ON = Badge(N_("Passed on"), "shared")
SENT = Badge(N_("Sent"), "sent")
REFUSED = Badge(N_("Refused"), "refused")
# The providing office's system failed: no refusal.
NOT_PASSED_ON = Badge(N_("Not passed on"), "failed")
NOT_DELIVERED = Badge(N_("Not delivered"), "failed")
# A refusal because the person had withdrawn: which consent, and whether all of it.
WITHDREW_CONSENT = N_("You had withdrawn your consent no. %(consent)s.")
WITHDREW_PERMISSION = N_("You had withdrawn permission %(number)s of your consent no. %(consent)s.")


@dataclass(frozen=True)
class HistoryEntry:
    when: str
    text: str  # a TEXTS msgid (the heading), with the offices for %(provider)s and %(recipient)s
    explanation: str | None  # a msgid said under the heading (what an emergency query means)
    provider: AgencyView
    recipient: AgencyView
    categories: list[str]  # labels
    purpose: str | None  # label
    outcome: Badge
    refused: bool
    reason: str | None  # label, when refused or not delivered
    # for a withdrawn permission's reason: %(consent)s and %(number)s
    reason_values: dict[str, str | int]


def who_asked(
    session: Session, audit: AuditLog, subject_id: str, reader: Reader, now: datetime
) -> list[HistoryEntry]:
    """The person's history, newest first. An exchange that released several kinds of
    information (one audit entry each) is one line. What is deferred at ``now`` is left out."""
    deferred = disclosure.deferred(session, subject_id, now)
    shown: dict[tuple[Any, ...], tuple[EntryView, list[str]]] = {}
    for view in about_subject(session, audit.pseudonymizer.pseudonym(subject_id)):
        body = view.body
        if (
            body is None
            or view.event not in TEXTS
            or not (body.get("provider") and body.get("requester"))
        ):
            continue  # pruned, or not about one office asking or telling another
        if deferred.hides(body):
            continue  # not yet: no trace of it, not even a count
        details = body.get("details", {})
        key = (view.event, details.get("exchange_id") or view.id, body.get("decision"))
        if key in shown:
            shown[key][1].extend(body.get("categories", []))
        else:
            shown[key] = (view, list(body.get("categories", [])))
    names = agencies(session, _agency_ids(view for view, _ in shown.values()))
    ended = _withdrawals(session, subject_id)
    entries = [
        _entry(view, categories, names, ended, reader) for view, categories in shown.values()
    ]
    return list(reversed(entries))


@dataclass(frozen=True)
class _Withdrawal:
    """One permission the person withdrew: its grant, when, and whether with all its consent."""

    consent: str  # short number
    number: int
    grant: dict[str, Any]
    at: datetime
    whole: bool


def _withdrawals(session: Session, subject_id: str) -> list[_Withdrawal]:
    found = []
    for consent in consents.consents_of_subject(session, subject_id):
        versions: Sequence[ConsentVersion] = consents.versions(session, consent.id)
        for number, (grant, last) in enumerate(last_versions(versions), start=1):
            ended_by_withdrawal = (Status.WITHDRAWN.value, Status.SUPERSEDED.value)
            if last.ended_at is not None and last.status in ended_by_withdrawal:
                whole = last.status == Status.WITHDRAWN.value
                found.append(
                    _Withdrawal(short_number(consent.id), number, grant, last.ended_at, whole)
                )
    return found


def _withdrawn(
    body: dict[str, Any], categories: list[str], at: datetime, ended: list[_Withdrawal]
) -> tuple[str, dict[str, str | int]] | None:
    """Which of the person's withdrawals a refusal "consent withdrawn" came from: the latest
    before it that covered its offices, purpose and information."""
    matching = [
        withdrawal
        for withdrawal in ended
        if withdrawal.at <= at
        and (withdrawal.grant["from"], withdrawal.grant["to"])
        == (body.get("provider"), body.get("requester"))
        and body.get("purpose") in withdrawal.grant["purposes"]
        and set(categories) & set(withdrawal.grant["categories"])
    ]
    if not matching:
        return None
    latest = max(matching, key=lambda withdrawal: withdrawal.at)
    if latest.whole:
        return WITHDREW_CONSENT, {"consent": latest.consent}
    return WITHDREW_PERMISSION, {"consent": latest.consent, "number": latest.number}


def _entry(
    view: EntryView,
    categories: list[str],
    names: dict[str, AgencyView],
    ended: list[_Withdrawal],
    reader: Reader,
) -> HistoryEntry:
    body = view.body or {}
    event = EventType(view.event)
    refused = body.get("decision") == Decision.DENY.value
    if event is EventType.MESSAGE_PURGED:
        outcome = NOT_DELIVERED
    elif refused:
        failed = str(body.get("reason", "")).startswith("provider_")
        outcome = NOT_PASSED_ON if failed else REFUSED
    else:
        outcome = SENT if event is EventType.MESSAGE_SENT else PASSED_ON
    purpose = body.get("purpose")
    reason = labels.reason(body.get("reason"))
    values: dict[str, str | int] = {}
    if body.get("reason") == "consent_withdrawn":
        which = _withdrawn(body, categories, view.recorded_at, ended)
        reason, values = which if which else (reason, {})
    emergency = event is EventType.EXCHANGE_DECIDED and emergencies.is_emergency(body)
    return HistoryEntry(
        when=reader.moment(view.recorded_at),
        text=emergencies.ASKED if emergency else TEXTS[event],
        explanation=emergencies.WHY if emergency else None,
        provider=names[body["provider"]],
        recipient=names[body["requester"]],
        categories=[labels.category(code) for code in dict.fromkeys(sorted(categories))],
        purpose=labels.purpose(purpose) if purpose else None,
        outcome=outcome,
        refused=refused,
        reason=reason,
        reason_values=values,
    )


def _agency_ids(views: Iterable[EntryView]) -> set[str]:
    ids: set[str] = set()
    for view in views:
        body = view.body or {}
        ids.update(body[name] for name in ("provider", "requester") if body.get(name))
    return ids
