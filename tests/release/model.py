"""The model the release state machine keeps from the gateway's HTTP answers alone: the grants
a person's consent is drawn from, what was handed to whom under which version, which grants
were withdrawn when, and the messages sent; and what a withdrawal's notices must list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.release.tables import Kind
from tests.adversarial.conftest import ABH, CONFERENCE, JA, JC
from tests.support import named_in

CM, LMI = "case_management", "labour_market_integration"
# The grants a person's consent is made of (some of them, drawn): overlapping on purpose, so
# that withdrawing one grant may leave some of its flows covered by another.
GRANTS: dict[str, dict[str, Any]] = {
    "residence": {"from": ABH, "to": JC, "categories": ["residence_status"], "purposes": [LMI, CM]},
    "residence_cm": {"from": ABH, "to": JC, "categories": ["residence_status"], "purposes": [CM]},
    "contacts": {"from": JC, "to": JA, "categories": ["case_contact", "case_conference"],
                 "purposes": [CM]},
    "conferences": {"from": JC, "to": JA, "categories": ["case_conference"], "purposes": [CM]},
    "contact_back": {"from": JA, "to": JC, "categories": ["case_contact"], "purposes": [CM]},
}  # fmt: skip
# Queries: (requester, provider, categories, purpose). Only ABH and JC have provider systems.
QUERIES = (
    (JC, ABH, ("residence_status",), LMI),
    (JC, ABH, ("residence_status",), CM),
    (JA, JC, ("case_contact",), CM),
    (JA, JC, ("case_contact", "case_conference"), CM),
)
# Messages: (sender, recipient, category), all for case management.
MESSAGES = ((JC, JA, "case_conference"), (JC, JA, "case_contact"), (JA, JC, "case_contact"))
CONTACT = {
    "agency": JC,
    "caseworker_name": "Mehmet Yilmaz",
    "phone": "+49 221 221-0",
    "email": "jobcenter@stadt-koeln.example",
    "role": "lead_case_manager",
}
PAYLOADS = {"case_contact": CONTACT, "case_conference": CONFERENCE}
EVENTS = {  # the permit entry of each kind of release
    Kind.QUERY.value: "exchange.decided",
    Kind.MESSAGE_ACCEPTED.value: "message.sent",
    Kind.MESSAGE_FETCHED.value: "message.fetched",
}
GONE = {  # why a message no longer held answers 410
    "acknowledged": "message_acknowledged",
    "expired": "message_expired",
    "withheld": "consent_withdrawn",
}
STORED = {  # a message's state and reason in the database, by its state in the model
    "pending": ("pending", None),
    "overdue": ("pending", None),
    "acknowledged": ("acknowledged", None),
    "expired": ("expired", "message_expired"),
    "withheld": ("withheld", "consent_withdrawn"),
}
TOKEN_REUSE = 120  # seconds; access tokens live 300, and a slow run takes minutes

Flow = tuple[str, str, str, str]  # provider, recipient, category, purpose


def covers(grant: str, flow: Flow) -> bool:
    provider, recipient, category, purpose = flow
    granted = GRANTS[grant]
    return (
        (granted["from"], granted["to"]) == (provider, recipient)
        and category in granted["categories"]
        and purpose in granted["purposes"]
    )


@dataclass(frozen=True)
class Handed:
    """Data handed over, as its 200 (or 202) answer showed it."""

    kind: str
    id: str  # the exchange's or the message's id
    recipient: str
    flows: tuple[Flow, ...]  # one per category
    version: int  # of the consent it was released under


@dataclass(frozen=True)
class Withdrawn:
    version: int  # the version it ended
    withdrawn: tuple[str, ...]  # grant names
    remaining: tuple[str, ...]
    after: int  # how many releases came before it

    def affects(self, flow: Flow) -> bool:
        """Data given under the consent loses its ground: a withdrawn grant covered the flow
        and no remaining one does (``consent.model.GrantChange.affects``)."""
        return any(covers(g, flow) for g in self.withdrawn) and not any(
            covers(g, flow) for g in self.remaining
        )


@dataclass
class Sent:
    id: str
    flow: Flow
    # pending | overdue (pending, past its expiry) | acknowledged | expired | withheld
    state: str = "pending"


@dataclass
class Person:
    """A person, their references, their one consent and what happened under it."""

    refs: dict[str, str]
    grants: tuple[str, ...]  # of the consent's current version
    consent_id: str = ""
    subject_id: str = ""
    version: int = 1
    active: bool = True
    handed: list[Handed] = field(default_factory=list)
    withdrawals: list[Withdrawn] = field(default_factory=list)
    sent: dict[str, Sent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.initial = self.grants  # grants only ever shrink: every version's are among these
        self.known = set(named_in(self.refs, [GRANTS[g] for g in self.grants]))
        self.parties = sorted(self.known | {JC})  # JC records every consent

    def covered(self, flow: Flow) -> bool:
        return self.active and any(covers(g, flow) for g in self.grants)

    def refusal(self, caller: str, flows: Sequence[Flow]) -> str | None:
        """The reason the gateway must give (PRODUCT.md §4.2, ``consent.check``), or None
        when everything asked for is covered."""
        if caller not in self.known:
            return "unknown_subject"  # the caller's own reference names no one
        for flow in flows:
            if self.covered(flow):
                continue
            if any(covers(g, flow) for g in self.initial):
                return "consent_withdrawn"  # an ended version covered exactly this
            pair = [g for g in self.grants if (GRANTS[g]["from"], GRANTS[g]["to"]) == flow[:2]]
            pair = pair if self.active else []
            if any(flow[2] in GRANTS[g]["categories"] for g in pair):
                return "purpose_not_covered"
            return "category_not_covered" if pair else "no_consent"
        return None

    def notices(self) -> dict[tuple[int, str], tuple[list[str], list[str]]]:
        """Per withdrawal (the version it ended) and recipient: the exchanges and the messages
        released to it before the withdrawal whose ground the withdrawal took away."""
        expected: dict[tuple[int, str], tuple[list[str], list[str]]] = {}
        for withdrawal in self.withdrawals:
            for handed in self.handed[: withdrawal.after]:
                if handed.kind == Kind.MESSAGE_ACCEPTED.value:
                    continue  # the sender's disclosure: the recipient has nothing yet
                if not any(withdrawal.affects(flow) for flow in handed.flows):
                    continue
                exchanges, fetched = expected.setdefault(
                    (withdrawal.version, handed.recipient), ([], [])
                )
                ids = exchanges if handed.kind == Kind.QUERY.value else fetched
                if handed.id not in ids:
                    ids.append(handed.id)
        return {key: (sorted(e), sorted(m)) for key, (e, m) in expected.items()}
