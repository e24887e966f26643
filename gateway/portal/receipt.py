"""A consent's receipt for the person: what they agreed to, what they were shown when they
agreed (the form, its language, whether an interpreter was there, how they agreed), its
versions, and what it takes to check the gateway's signature (for whoever helps them).

Labels stay English msgids here; the templates translate them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from babel import Locale, UnknownLocaleError
from sqlalchemy.orm import Session

from consent.forms import shipped_forms
from consent.model import Status, status_at
from gateway.portal import labels
from gateway.portal.labels import Badge, Reader
from gateway.portal.views import ConsentView, agencies, agency_ids, consent_view, own
from gateway.web.i18n import N_

JWKS_PATH = "/.well-known/jwks.json"

CHANNELS = {
    "paper_signed": N_("You signed it on paper."),
    "electronic_signed": N_("You signed it electronically."),
    "in_person_recorded": N_("You agreed in person, and the office wrote it down."),
}


@dataclass(frozen=True)
class VersionView:
    number: int
    badge: Badge
    recorded_on: str
    ended_on: str | None


@dataclass(frozen=True)
class ShownView:
    """What the person was shown when they agreed."""

    form_title: str | None  # in the reader's language where the form has one
    form_id: str  # as the offices' systems name it (in the verification data, not the receipt)
    form_version: str
    language: str  # the form's language, named in the reader's language
    interpreter: str | None  # the interpreter's language, named likewise; None: no interpreter
    channel: str | None  # how they agreed (a msgid)


@dataclass(frozen=True)
class ReceiptView:
    consent: ConsentView
    recorded_at: str
    shown: ShownView
    receipt: str  # the compact JWS
    jwks_url: str
    versions: list[VersionView]


def receipt(
    session: Session,
    subject_id: str,
    consent_id: str,
    issuer: str,
    reader: Reader,
    now: datetime,
) -> ReceiptView:
    consent, versions = own(session, subject_id, consent_id)
    names = agencies(session, agency_ids([(consent, versions)]))
    current = versions[-1]
    return ReceiptView(
        consent=consent_view(consent, versions, names, reader, now),
        recorded_at=reader.moment(versions[0].recorded_at),
        shown=_shown(versions[0].notice, versions[0].evidence, reader),
        receipt=current.receipt,
        jwks_url=issuer.rstrip("/") + JWKS_PATH,
        versions=[
            VersionView(
                number=version.version,
                badge=labels.status(status_at(Status(version.status), version.valid_until, now)),
                recorded_on=reader.day(version.recorded_at),
                ended_on=reader.day(version.ended_at) if version.ended_at else None,
            )
            for version in versions
        ],
    )


def _shown(notice: dict[str, str | None], evidence: dict[str, str], reader: Reader) -> ShownView:
    form_id, version = str(notice.get("form_id")), str(notice.get("form_version"))
    language, interpreter = str(notice.get("language")), notice.get("interpreter_language")
    titles = _titles().get((form_id, version), {})
    return ShownView(
        form_title=titles.get(reader.language.code) or titles.get(language),
        form_id=form_id,
        form_version=version,
        language=language_name(language, reader),
        interpreter=language_name(interpreter, reader) if interpreter else None,
        channel=CHANNELS.get(evidence.get("channel", "")),
    )


def language_name(code: str, reader: Reader) -> str:
    """A language's name in the reader's language (``Arabisch``); the code if Babel has none."""
    try:
        name = Locale.parse(reader.language.code).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or code


@cache
def _titles() -> dict[tuple[str, str], dict[str, str]]:
    """The shipped forms' titles by form id and version (files shipped with the gateway)."""
    return {(form.form_id, form.version): form.titles for form in shipped_forms()}
