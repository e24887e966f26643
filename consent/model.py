"""Consent records: who agreed that which agency may tell which agency what, for what, until when.

A consent is never edited: a change, including withdrawing one permission, is a new version that
supersedes the old one. Expiry is not a stored state but a fact checked at every use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class GiverRole(StrEnum):
    """Who gave the consent (for minors or persons under guardianship, not the person alone).
    ``consent.givers`` says when which role must be among them."""

    DATA_SUBJECT = "data_subject"
    LEGAL_GUARDIAN = "legal_guardian"  # Vormund, or Betreuer of an adult
    CUSTODIAN = "custodian"  # a parent with custody (Personensorge)
    CONFIDING_PERSON = "confiding_person"  # who confided the data (§ 65 SGB VIII)


class AgeBand(StrEnum):
    """How old the person was when the consent was recorded, only as finely as the rules on
    who may consent need it: no birth date, which would be more than they need."""

    ADULT = "adult"
    # § 36 SGB I: from 15, a person may apply for and receive social benefits alone.
    MINOR_15_TO_17 = "minor_15_to_17"
    MINOR_UNDER_15 = "minor_under_15"  # a legal guardian or custodian consents too


class EvidenceChannel(StrEnum):
    PAPER_SIGNED = "paper_signed"
    ELECTRONIC_SIGNED = "electronic_signed"
    IN_PERSON_RECORDED = "in_person_recorded"


class WithdrawalChannel(StrEnum):
    IN_PERSON = "in_person"
    WRITTEN = "written"
    PORTAL = "portal"


@dataclass(frozen=True)
class Grant:
    """One permission: ``provider`` may give ``recipient`` these categories for these purposes."""

    provider: str
    recipient: str
    categories: frozenset[str]
    purposes: frozenset[str]

    def permissions(self) -> Iterator[tuple[str, str]]:
        for category in sorted(self.categories):
            for purpose in sorted(self.purposes):
                yield category, purpose

    def covers(self, provider: str, recipient: str, category: str, purpose: str) -> bool:
        return (
            self.provider == provider
            and self.recipient == recipient
            and category in self.categories
            and purpose in self.purposes
        )

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Grant:
        """A grant as a consent version stores it: ``{from, to, categories, purposes}``."""
        return cls(
            provider=str(document["from"]),
            recipient=str(document["to"]),
            categories=frozenset(document["categories"]),
            purposes=frozenset(document["purposes"]),
        )


@dataclass(frozen=True)
class GrantChange:
    """Some grants of a consent withdrawn (all of them, for a whole withdrawal)."""

    withdrawn: Sequence[Grant]
    remaining: Sequence[Grant]

    def affects(self, provider: str, recipient: str, category: str, purpose: str) -> bool:
        """Whether data given under the consent loses its ground: a withdrawn grant covered
        it, and none of the grants that remain does."""
        flow = (provider, recipient, category, purpose)
        return any(grant.covers(*flow) for grant in self.withdrawn) and not any(
            grant.covers(*flow) for grant in self.remaining
        )


def status_at(stored: Status, valid_until: datetime, at: datetime) -> Status:
    """A version's status at a moment: an active version past its end is expired."""
    if stored is Status.ACTIVE and at >= valid_until:
        return Status.EXPIRED
    return stored
