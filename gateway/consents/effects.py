"""What a withdrawal sets off beyond the consent registry, as the registry sees it: one call,
in the withdrawal's transaction, to whatever the gateway has wired in (the release core's
``gateway.release.withdrawal``). The registry knows nothing of messages or exchanges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from consent.model import GrantChange


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal as it committed: which grants of which consent version it took away."""

    consent_id: str
    version: int  # the version it ended
    change: GrantChange
    at: datetime
    actor: str  # who withdrew, as the audit names them
    by: Mapping[str, str] | None = None  # more on who acted, for audit details (a portal code)


class WithdrawalEffects(Protocol):
    def __call__(self, session: Session, withdrawal: Withdrawal) -> None:
        """Act on the withdrawal in its own transaction (``session``); raise to undo it."""
