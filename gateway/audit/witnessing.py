"""Submitting each checkpoint to the witnesses (C2SP tlog-witness ``add-checkpoint``).

A thread of its own does it, woken right after each publish and every round while a witness
lags, each witness on a worker of its own with a timeout of a few seconds: a slow or dead
witness never holds up sequencing, signing or exchanges; it only shows as lagging.

Each submission says which size the witness cosigned last (as far as this gateway knows) and
proves the new checkpoint consistent with it. A 409 tells the witness's size: at most ours, we
try once more from it (another gateway process, or a witness that lost its state); larger
than ours, and no process of ours has signed that far, the witness has seen a tree this
database does not hold: a rolled-back log or a split view, reported and never papered over.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from gateway.audit import cosigned, repository
from gateway.audit.cosignatures import split_note
from gateway.audit.notes import NoteError
from gateway.audit.service import AuditLog
from gateway.audit.tables import AuditWitness
from gateway.db.engine import Database
from gateway.errors import DatabaseUnavailable
from gateway.settings import WitnessConfig

log = logging.getLogger(__name__)
SIZE_ANSWER = re.compile(r"(0|[1-9][0-9]*)\n?")
_STATUS_PROBLEMS = {400: "bad_request", 403: "forbidden", 404: "unknown_log", 422: "inconsistent"}


@dataclass(frozen=True)
class Outcome:
    """What one submission came to: cosigned at ``size``, or a problem code and its text."""

    size: int | None = None
    problem: str | None = None
    detail: str = ""
    warning: str | None = None  # what the log says when the problem begins


class Witnessing:
    def __init__(
        self,
        database: Database,
        witnesses: Sequence[WitnessConfig],
        *,
        timeout: float = 5.0,
        interval: float = 5.0,
        on_failure: Callable[[str, str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self._database = database
        self._witnesses = tuple(witnesses)
        self._interval = interval
        self._on_failure = on_failure
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-witnessing", daemon=True)
        self._pool = ThreadPoolExecutor(max(len(self._witnesses), 1), "audit-witness")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread (if started) and close the connections to the witnesses."""
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def nudge(self) -> None:
        """A checkpoint was just signed: submit it now rather than at the next round."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.round()
            except DatabaseUnavailable:
                continue  # logged once when the outage began; next round
            except Exception:
                log.exception("submitting checkpoints to witnesses failed")

    def round(self) -> list[Outcome]:
        """Submit the newest checkpoint to every witness that has not cosigned it."""
        return list(self._pool.map(self._bring_up_to_date, self._witnesses))

    def _bring_up_to_date(self, witness: WitnessConfig) -> Outcome:
        # Read-only: a round with nothing to submit takes no write lock.
        with self._database.transaction(read_only=True) as session:
            latest = repository.latest_checkpoint(session)
            state = session.get(AuditWitness, witness.name)
            old = state.size if state else 0
            known_problem = state.problem if state else None
            if latest is None or (old == latest.size and known_problem is None):
                return Outcome(old)
            newest = latest.size
        outcome = self.submit(witness, old)
        if outcome.problem is not None and outcome.problem != known_problem:
            # When the problem begins or changes; not again every round while it lasts.
            log.warning(
                outcome.warning
                or f"witness {witness.name}: {outcome.problem} ({outcome.detail}); "
                f"the checkpoint of size {newest} waits for its cosignature"
            )
        with self._database.transaction() as session:
            if outcome.problem is None:
                return outcome
            cosigned.record_problem(
                session, witness.name, outcome.problem, outcome.detail, datetime.now(UTC)
            )
        if self._on_failure is not None:
            self._on_failure(witness.name, outcome.problem)
        return outcome

    def submit(self, witness: WitnessConfig, old: int) -> Outcome:
        """Submit the newest checkpoint from ``old``, once more from the size a 409 names."""
        for attempt in (1, 2):
            with self._database.transaction(read_only=True) as session:
                latest = repository.latest_checkpoint(session)
                assert latest is not None
                size, note = latest.size, latest.note
                if old > size:
                    return self._ahead(witness, old, size)
                proof = AuditLog.consistency(session, old, size) if 0 < old < size else []
            body = f"old {old}\n" + "".join(f"{base64.b64encode(h).decode()}\n" for h in proof)
            try:
                response = self._http.post(
                    f"{witness.url}/add-checkpoint", content=f"{body}\n{note}".encode()
                )
            except httpx.TimeoutException:
                return Outcome(problem="timeout", detail="the witness did not answer in time")
            except httpx.HTTPError as error:
                return Outcome(problem="unreachable", detail=type(error).__name__)
            if response.status_code == 200:
                return self._store(witness, size, note, response.text)
            if response.status_code != 409:
                problem = _STATUS_PROBLEMS.get(response.status_code, "http_error")
                warning = None
                if problem in cosigned.REFUSALS:
                    warning = (
                        f"witness {witness.name} refused checkpoint {size} (old {old}): "
                        f"HTTP {response.status_code}"
                    )
                return Outcome(
                    problem=problem, detail=f"HTTP {response.status_code}", warning=warning
                )
            matched = SIZE_ANSWER.fullmatch(response.text)
            if matched is None:
                return Outcome(problem="bad_answer", detail="a 409 without a tree size")
            theirs = int(matched.group(1))
            if theirs > size and not self._signed_since(theirs):
                return self._ahead(witness, theirs, size)
            if attempt == 2:
                return Outcome(problem="conflict", detail=f"the witness's size moved to {theirs}")
            old = theirs
        raise AssertionError("unreachable")

    def _signed_since(self, size: int) -> bool:
        """Whether this database holds a checkpoint of at least ``size`` (another gateway
        process signed it since we read ours)."""
        with self._database.transaction(read_only=True) as session:
            latest = repository.latest_checkpoint(session)
            return latest is not None and latest.size >= size

    @staticmethod
    def _ahead(witness: WitnessConfig, theirs: int, ours: int) -> Outcome:
        return Outcome(
            problem="ahead",
            detail=f"the witness cosigned {theirs}, this log has {ours}",
            warning=f"witness {witness.name} has cosigned size {theirs} of this log, larger "
            f"than its newest checkpoint ({ours}): a rolled-back log or a split view",
        )

    def _store(self, witness: WitnessConfig, size: int, note: str, answer: str) -> Outcome:
        """Keep the witness's cosignatures that verify with its key; never an unverified one."""
        text, _ = split_note(note)
        key = witness.witness_key
        lines = []
        try:
            for line in answer.split("\n"):
                if line and key.timestamp_of(line, text) is not None:
                    lines.append(line)
        except NoteError as bad:
            return Outcome(
                problem="bad_cosignature",
                detail=str(bad),
                warning=f"witness {witness.name} answered with a cosignature that does not "
                f"verify with its key: {bad}",
            )
        if not lines:
            return Outcome(problem="bad_cosignature", detail="no cosignature by the witness's key")
        with self._database.transaction() as session:
            cosigned.record_cosignature(session, witness.name, size, lines, datetime.now(UTC))
        return Outcome(size)
