"""The background publisher: every few seconds, run the chores that record time-driven events
(such as consents that expired), place new entries and sign a checkpoint."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from gateway.audit.retention import prune
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(hours=1)


class Publisher:
    def __init__(
        self,
        audit: AuditLog,
        database: Database,
        interval: float,
        retention_days: int | None = None,
        chores: Sequence[Callable[[], object]] = (),
        after_publish: Callable[[], None] | None = None,
    ):
        self._audit = audit
        self._database = database
        self._interval = interval
        self._retention_days = retention_days
        self._chores = tuple(chores)
        self._after_publish = after_publish  # hands the new checkpoint to the witnesses
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-publisher", daemon=True)
        self._pruned_at: datetime | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                # Chores first: what they record is placed and signed in the same round.
                for chore in self._chores:
                    self._run_chore(chore)
                self._audit.publish(self._database)
                if self._after_publish is not None:
                    self._after_publish()
                self._maybe_prune()
            except DatabaseUnavailable:
                continue  # logged once when the outage began (gateway.db.faults); next round
            except Exception:
                # Logged (type and location only) and tried again next round: the entries stay
                # pending, nothing is lost.
                log.exception("audit publishing failed")

    @staticmethod
    def _run_chore(chore: Callable[[], object]) -> None:
        # A failing chore is logged and tried again next round; it must not hold up the other
        # chores, nor the placing and signing of entries.
        try:
            chore()
        except DatabaseUnavailable:
            return  # logged once when the outage began (gateway.db.faults); next round
        except Exception:
            log.exception("a background chore failed")

    def _maybe_prune(self) -> None:
        if self._retention_days is None:
            return
        now = datetime.now(UTC)
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        prune(self._audit, self._database, now - timedelta(days=self._retention_days))
