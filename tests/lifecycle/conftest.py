"""The Köln offices registered (references name them), and the lifecycle run at a chosen
moment, as the background chore and ``gateway lifecycle run`` run it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.audit.events import EventType
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.lifecycle import service
from gateway.lifecycle.periods import Periods
from gateway.lifecycle.service import Batches, Report
from gateway.runtime import Runtime
from tests.adversarial.conftest import city
from tests.lifecycle.seed import ABH, JA, JC, SA
from tests.support import Clients

__all__ = ["city"]  # the live gateway of the adversarial tests, for the proof of erasure


@pytest.fixture
def offices(clients: Clients) -> None:
    for agency, kind in (
        (ABH, AgencyKind.FOREIGNERS_OFFICE),
        (JC, AgencyKind.JOB_CENTRE),
        (JA, AgencyKind.YOUTH_WELFARE_OFFICE),
        (SA, AgencyKind.SOCIAL_OFFICE),
    ):
        clients.agency(agency, kind)


@pytest.fixture
def lifecycle(runtime: Runtime, offices: None) -> Callable[..., Report]:
    """Runs the lifecycle as if it were ``now``."""

    def run(now: datetime, batch: int = 500) -> Report:
        periods = Periods.of(runtime.settings, runtime.policies)
        return service.run(
            runtime.database, runtime.audit, periods, batches=Batches(size=batch), now=now
        )

    return run


def erasures(runtime: Runtime) -> list[dict[str, Any]]:
    """The details of every lifecycle entry, oldest first."""
    with runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body)
            .where(AuditEntry.event == EventType.LIFECYCLE_ERASED.value)
            .order_by(AuditEntry.id)
        )
        return [decode(body)["details"] for body in bodies if body]
