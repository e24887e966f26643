"""What a person may not be told yet about emergency access to their data (§ 8a SGB VIII).

A DPO may defer telling the person of a window's emergency queries for a bounded time, where
telling the parents at once could put the child in danger. Until that date the person's pages
show nothing of it: not its queries, not what was passed on in it, and not the same office's
refused emergency attempts (a refusal would give the emergency away just as well). The DPO's
access report marks the same entries, so that a report handed to the person keeps the
deferral too. Whether something is deferred is decided whenever it is asked, so that after the
date it shows by itself: nothing is ever hidden for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.audit.events import Decision
from gateway.emergency import repository


@dataclass(frozen=True)
class Deferred:
    """What the person may not see yet: windows, the offices that asked in them, and the
    exchanges made in them."""

    windows: frozenset[str] = frozenset()
    offices: frozenset[str] = frozenset()
    exchanges: frozenset[str] = frozenset()

    def hides(self, body: Mapping[str, Any]) -> bool:
        """Whether an audit entry's body is held back: anything about a deferred window (its
        queries, and what DPOs did about it: a reading, the review, the deferral itself), or
        a refused emergency attempt by an office that has one for the person."""
        details = body.get("details") or {}
        if details.get("emergency_window") in self.windows:
            return True
        if not details.get("emergency"):
            return False
        if details.get("exchange_id") in self.exchanges:
            return True
        refused = body.get("decision") == Decision.DENY.value
        return refused and body.get("requester") in self.offices


def deferred(session: Session, subject_id: str, now: datetime) -> Deferred:
    """What is deferred for the person at ``now``."""
    rows = repository.deferred_uses(session, subject_id, now)
    return Deferred(
        windows=frozenset(window for window, _, _ in rows),
        offices=frozenset(office for _, office, _ in rows),
        exchanges=frozenset(use for _, _, use in rows if use is not None),
    )
