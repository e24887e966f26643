""" "This is wrong about me": what offices passed on about the person (from the release ledger),
each with a way to tell the office the information came from that it is wrong, and what became
of what the person said (``gateway.rectifications``).

Labels stay English msgids here; the templates translate them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from gateway.emergency import disclosure
from gateway.portal import labels
from gateway.portal.labels import Badge, Reader
from gateway.portal.views import AgencyView, agencies
from gateway.rectifications import service as rectifications
from gateway.rectifications.errors import ReleaseNotFound
from gateway.rectifications.tables import Outcome, Rectification
from gateway.web.i18n import N_

SENT = Badge(N_("Sent to the office. It has not answered yet."), "pending")
OUTCOMES = {
    Outcome.CORRECTED.value: Badge(N_("Corrected"), "active"),
    Outcome.NOT_CORRECTED.value: Badge(N_("Not corrected"), "refused"),
}


class Notice(StrEnum):
    """What the history page says after the person sent a flag (named in its address)."""

    SENT = "wrong-sent"
    ALREADY = "wrong-already"


NOTICES = {
    Notice.SENT: N_("Thank you. The office will check it and answer you here."),
    Notice.ALREADY: N_("You told the office about this already. It has not answered yet."),
}
TOO_LONG = N_("Your text is too long. Please shorten it to 500 characters or less.")


def notice_text(name: str) -> str | None:
    return NOTICES[Notice(name)] if name in set(Notice) else None


@dataclass(frozen=True)
class FlagView:
    flagged_on: str
    state: Badge
    open: bool
    answered_on: str | None
    reason: str | None  # the office's, when not corrected (shown escaped)


@dataclass(frozen=True)
class ReleaseView:
    release_id: str
    category_code: str
    category: str  # label
    provider: AgencyView
    recipient: AgencyView
    when: str
    flag: FlagView | None  # what the person said about this release, latest first
    can_flag: bool  # no notice about this office's information is open


def passed_on(
    session: Session, subject_id: str, reader: Reader, now: datetime
) -> list[ReleaseView]:
    """What offices passed on about the person, newest first, with what the person said; not
    what was passed on in an emergency whose showing is deferred at ``now``."""
    hidden = disclosure.deferred(session, subject_id, now).exchanges
    rows = [
        row for row in rectifications.released_about(session, subject_id) if row.id not in hidden
    ]
    flags = rectifications.of_subject(session, subject_id)
    names = agencies(session, {row.provider for row in rows} | {row.recipient for row in rows})
    return [_release(row, flags, names, reader) for row in rows]


def release(
    session: Session,
    subject_id: str,
    release_id: str,
    category: str,
    reader: Reader,
    now: datetime,
) -> ReleaseView:
    """One release of the person's, for the form; anyone else's (or a deferred one) is not
    found."""
    for view in passed_on(session, subject_id, reader, now):
        if (view.release_id, view.category_code) == (release_id, category):
            return view
    raise ReleaseNotFound()


def _release(
    row: Any, flags: Sequence[Rectification], names: dict[str, AgencyView], reader: Reader
) -> ReleaseView:
    about = (row.provider, row.category)
    same = [flag for flag in flags if (flag.provider, flag.category) == about]
    open_ = any(flag.answered_at is None for flag in same)
    own = next((flag for flag in same if flag.release_id == row.id), None)
    return ReleaseView(
        release_id=row.id,
        category_code=row.category,
        category=labels.category(row.category),
        provider=names[row.provider],
        recipient=names[row.recipient],
        when=reader.moment(row.released_at),
        flag=_flag(own, reader) if own else None,
        can_flag=not open_,
    )


def _flag(flag: Rectification, reader: Reader) -> FlagView:
    answered = flag.answered_at
    return FlagView(
        flagged_on=reader.day(flag.flagged_at),
        state=OUTCOMES[flag.outcome] if flag.outcome else SENT,
        open=answered is None,
        answered_on=reader.day(answered) if answered else None,
        reason=flag.reason,
    )
