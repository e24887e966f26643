"""Who asked about me: the person's own entries in the audit log, in plain words.

Each time an office asked another for information about the person, sent or received a message
about them, or a message about them was stopped: when, which offices (by name), which
information, what for, and what came of it (with the reason, in plain words, when refused).
Only the person's own entries are read (by their pseudonym), and only names of offices, kinds
of information and purposes are shown: never pseudonyms, references or caseworkers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.events import Decision, EventType
from gateway.audit.query import EntryView, about_subject
from gateway.audit.service import AuditLog
from gateway.portal import labels
from gateway.portal.views import agencies
from gateway.web.i18n import N_, Language

TEXTS = {
    EventType.EXCHANGE_DECIDED: N_("%(recipient)s asked %(provider)s for information about you."),
    EventType.MESSAGE_SENT: N_("%(provider)s sent a message about you to %(recipient)s."),
    EventType.MESSAGE_FETCHED: N_("%(recipient)s received a message about you from %(provider)s."),
    EventType.MESSAGE_PURGED: N_(
        "A message about you from %(provider)s to %(recipient)s was not delivered."
    ),
}
PASSED_ON = N_("Passed on")
SENT = N_("Sent")
REFUSED = N_("Refused")
NOT_PASSED_ON = N_("Not passed on")  # the providing office's system failed: no refusal
NOT_DELIVERED = N_("Not delivered")


@dataclass(frozen=True)
class HistoryEntry:
    when: str
    text: str  # a TEXTS msgid, with the offices' names for %(provider)s and %(recipient)s
    provider: str
    recipient: str
    categories: list[str]  # labels
    purpose: str | None  # label
    outcome: str  # label
    refused: bool
    reason: str | None  # label, when refused or not delivered


def who_asked(
    session: Session, audit: AuditLog, subject_id: str, language: Language
) -> list[HistoryEntry]:
    """The person's history, newest first. An exchange that released several kinds of
    information (one audit entry each) is one line."""
    shown: dict[tuple[Any, ...], tuple[EntryView, list[str]]] = {}
    for view in about_subject(session, audit.pseudonymizer.pseudonym(subject_id)):
        body = view.body
        if (
            body is None
            or view.event not in TEXTS
            or not (body.get("provider") and body.get("requester"))
        ):
            continue  # pruned, or not about one office asking or telling another
        details = body.get("details", {})
        key = (view.event, details.get("exchange_id") or view.id, body.get("decision"))
        if key in shown:
            shown[key][1].extend(body.get("categories", []))
        else:
            shown[key] = (view, list(body.get("categories", [])))
    names = agencies(session, _agency_ids(view for view, _ in shown.values()))
    entries = [_entry(view, categories, names, language) for view, categories in shown.values()]
    return list(reversed(entries))


def _entry(
    view: EntryView, categories: list[str], names: dict[str, Any], language: Language
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
    return HistoryEntry(
        when=labels.moment(view.recorded_at, language),
        text=TEXTS[event],
        provider=names[body["provider"]].name,
        recipient=names[body["requester"]].name,
        categories=[labels.category(code) for code in dict.fromkeys(sorted(categories))],
        purpose=labels.purpose(purpose) if purpose else None,
        outcome=outcome,
        refused=refused,
        reason=labels.reason(body.get("reason")),
    )


def _agency_ids(views: Iterable[EntryView]) -> set[str]:
    ids: set[str] = set()
    for view in views:
        body = view.body or {}
        ids.update(body[name] for name in ("provider", "requester") if body.get(name))
    return ids
