"""The lifecycle as a background chore of every gateway process (``GATEWAY_LIFECYCLE_INTERVAL``
seconds apart; 0 turns it off). It runs on the background chores' thread, never on a request's,
and each of its batches is a short transaction of its own."""

from __future__ import annotations

import logging
import time

from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.lifecycle import repository, service
from gateway.lifecycle.periods import Periods
from gateway.lifecycle.service import Batches, Report

log = logging.getLogger(__name__)
# Batches per step and round: a round that has more to do leaves the rest to the next round
# (seconds later, not an interval later), so the checkpoint signing behind it is not held up.
BATCHES_PER_ROUND = 20


class LifecycleChore:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        periods: Periods,
        *,
        interval: float,
        batch: int,
        pause: float,
    ):
        self._database = database
        self._audit = audit
        self._periods = periods
        self._interval = interval
        self._batches = Batches(size=batch, pause=pause, budget=BATCHES_PER_ROUND)
        self._due_at = 0.0  # monotonic: the first round runs it

    def __call__(self) -> Report | None:
        if self._interval <= 0 or time.monotonic() < self._due_at:
            return None
        report = service.run(self._database, self._audit, self._periods, batches=self._batches)
        self._due_at = 0.0 if report.unfinished else time.monotonic() + self._interval
        if report.total:
            repository.truncate_wal(self._database)
        # Counts only: no id, pseudonym or reference reaches the log.
        log.info(
            "lifecycle run: %s%s", report.line(), " (more next round)" if report.unfinished else ""
        )
        return report
