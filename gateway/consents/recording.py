"""Recording a consent: everything is checked first, so a refusal writes nothing."""

from __future__ import annotations

import calendar
import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from consent.forms import FormError, load_form
from consent.model import Status
from gateway.agencies import repository as registry
from gateway.agencies.tables import Agency
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.consents import portal_codes, repository
from gateway.consents.errors import ReferenceConflict
from gateway.consents.givers import check_givers
from gateway.consents.models import ConsentIn, GrantIn, Recorded
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.consents.versions import Context, audit_change, grant_document, store_version
from gateway.errors import InvalidRequest
from gateway.policy.model import PolicySet

REFERENCE_CONFLICT_REASON = "reference_conflict"


def record(session: Session, context: Context, body: ConsentIn) -> Recorded:
    """Record a consent; refuse, writing nothing, anything that does not hold together."""
    recorder = context.principal.client_id
    valid_from, valid_until = period(body, context.time_zone)
    agencies = _check_consent(session, context, body, valid_from, valid_until)
    check_givers(context, body, agencies)
    notice = _notice(body)
    subject_id = _subject(session, context, body.subject.references)

    consent_id = str(uuid.uuid4())
    parties = {recorder} | _grant_agencies(body.grants)
    consent = ConsentRecord(
        id=consent_id,
        subject_id=subject_id,
        recorded_by=recorder,
        created_at=context.now,
        current_version=1,
    )
    repository.add_consent(session, consent, parties)
    version = ConsentVersion(
        consent_id=consent_id,
        version=1,
        status=Status.ACTIVE.value,
        valid_from=valid_from,
        valid_until=valid_until,
        grants=[grant_document(grant) for grant in _merged(body.grants)],
        given_by=sorted({giver.role.value for giver in body.given_by}),
        subject_age_band=body.subject.age_band.value,
        notice=notice,
        evidence=body.evidence.model_dump(mode="json"),
        recorded_at=context.now,
        recorded_by=recorder,
        caseworker=context.caseworker,
        receipt="",
    )
    store_version(session, context, version, subject_id)
    audit_change(session, context, EventType.CONSENT_RECORDED, version, subject_id)
    code = portal_codes.issue(
        session, context.audit, consent, context.issuer(), context.now, reissue=False
    )
    return Recorded(
        consent_id=consent_id,
        version=1,
        status=Status.ACTIVE,
        receipt=version.receipt,
        portal_code=code,
    )


def period(body: ConsentIn, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """When the consent is valid, as times: a plain date is that whole day in ``zone`` (from
    its first moment; until the first moment of the next day, as ``valid_until`` is the
    first moment no longer covered). A date that does not exist (30 February) is refused."""
    return (
        _moment(body.valid_from, "valid_from", zone, next_day=False),
        _moment(body.valid_until, "valid_until", zone, next_day=True),
    )


def _moment(text: str, field: str, zone: ZoneInfo, *, next_day: bool) -> datetime:
    try:
        if "T" in text:
            return datetime.fromisoformat(text)
        day = date.fromisoformat(text) + timedelta(days=1 if next_day else 0)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            "the consent is not valid",
            errors=[{"path": f"/body/{field}", "message": "no such day"}],
        ) from None
    return datetime.combine(day, time(), zone)


def _check_consent(
    session: Session, context: Context, body: ConsentIn, valid_from: datetime, valid_until: datetime
) -> dict[str, Agency]:
    """Refuse what does not hold together; otherwise every agency the consent names."""
    errors: list[dict[str, str]] = []
    now, recorder = context.now, context.principal.client_id
    if valid_until <= valid_from:
        errors.append({"path": "/body/valid_until", "message": "must be after valid_from"})
    elif valid_until > add_months(valid_from, context.max_validity_months):
        errors.append(
            {
                "path": "/body/valid_until",
                "message": f"a consent lasts at most {context.max_validity_months} months",
            }
        )
    if valid_until <= now:
        errors.append({"path": "/body/valid_until", "message": "must be in the future"})

    references = body.subject.references
    agencies: dict[str, Agency] = {}
    named = _grant_agencies(body.grants)
    errors += [
        {"path": f"/body/subject/references/{agency_id}", "message": "no grant names this agency"}
        for agency_id in sorted(set(references) - named)
    ]
    for agency_id in sorted(set(references) | named):
        agency = registry.get_agency(session, agency_id)
        if agency is None or not agency.client.enabled:
            errors.append(
                {"path": f"/body/subject/references/{agency_id}", "message": "unknown agency"}
            )
        else:
            agencies[agency_id] = agency
    if recorder not in _grant_agencies(body.grants):
        errors.append(
            {"path": "/body/grants", "message": "the recording agency is party to no grant"}
        )
    if recorder not in references:
        errors.append({"path": "/body/subject/references", "message": "give your own reference"})
    for index, grant in enumerate(body.grants):
        errors += _grant_problems(index, grant, references, agencies, context.policies)
    if errors:
        raise InvalidRequest("the consent cannot be recorded", errors=errors)
    return agencies


def _grant_problems(
    index: int,
    grant: GrantIn,
    references: dict[str, str],
    agencies: dict[str, Agency],
    policies: PolicySet,
) -> list[dict[str, str]]:
    path = f"/body/grants/{index}"
    if grant.provider == grant.recipient:
        return [{"path": path, "message": "an agency cannot grant to itself"}]
    problems = [
        {"path": f"{path}/{side}", "message": "no reference given for this agency"}
        for side, agency_id in (("from", grant.provider), ("to", grant.recipient))
        if agency_id not in references
    ]
    provider, recipient = agencies.get(grant.provider), agencies.get(grant.recipient)
    if provider is None or recipient is None:
        return problems
    same_place = provider.municipality == recipient.municipality
    for category in grant.categories:
        for purpose in grant.purposes:
            if (
                policies.consent_flow(
                    provider.kind, recipient.kind, category, purpose, same_municipality=same_place
                )
                is None
            ):
                problems.append(
                    {
                        "path": path,
                        "message": f"no policy flow lets a {provider.kind} give {category} "
                        f"to a {recipient.kind} for {purpose}"
                        + ("" if same_place else " across municipalities"),
                    }
                )
    return problems


def _notice(body: ConsentIn) -> dict[str, str | None]:
    notice = body.notice
    try:
        form = load_form(notice.form_id, notice.form_version, notice.language)
    except FormError as unknown:
        raise InvalidRequest(
            "the consent cannot be recorded",
            errors=[{"path": "/body/notice", "message": str(unknown)}],
        ) from None
    return {
        "form_id": form.form_id,
        "form_version": form.version,
        "language": form.language,
        "interpreter_language": notice.interpreter_language,
        "form_sha256": form.sha256,
    }


def _subject(session: Session, context: Context, references: dict[str, str]) -> str:
    """The one person these references name; created if none of them is known yet.

    The recorder's own reference is its own file; the others are what the person told it. No
    answer may show whether another agency has the person on file: where an agency already
    knows the person by another reference, its own is kept and the one given is not written.
    References that name two different known persons (or, for the recorder, a person it knows
    by another reference) are refused, never merged, in an answer that names no agency; the
    refusal is audited without linking anybody."""
    recorder = context.principal.client_id
    known = repository.subjects_of(session, references, hold=True)
    subjects = set(known.values())
    if len(subjects) > 1:
        raise _conflict(context)
    subject_id = subjects.pop() if subjects else str(uuid.uuid4())
    existing = repository.references_of(session, subject_id) if known else {}
    if existing.get(recorder, references[recorder]) != references[recorder]:
        raise _conflict(context)
    if not known:
        repository.add_subject(session, subject_id, context.now)
    for agency_id, reference in sorted(references.items()):
        if agency_id not in existing:
            repository.add_reference(session, agency_id, reference, subject_id)
    return subject_id


def _conflict(context: Context) -> ReferenceConflict:
    recorder = context.principal.client_id
    refusal = AuditEvent(
        EventType.CONSENT_REFUSED,
        actor=recorder,
        requester=recorder,
        caseworker=context.caseworker,
        decision=Decision.DENY,
        reason=REFERENCE_CONFLICT_REASON,
        request_id=context.request_id,
        trace_id=context.trace_id,
    )
    return ReferenceConflict(
        "the references do not fit the persons the gateway knows; nothing was recorded",
        reason=REFERENCE_CONFLICT_REASON,
        audited=refusal,
    )


def _grant_agencies(grants: Iterable[GrantIn]) -> set[str]:
    return {g.provider for g in grants} | {g.recipient for g in grants}


def _merged(grants: list[GrantIn]) -> list[GrantIn]:
    """Grants in a stable order, exact duplicates dropped."""
    unique = {json.dumps(grant_document(g), sort_keys=True): g for g in grants}
    return sorted(unique.values(), key=lambda g: (g.provider, g.recipient, sorted(g.categories)))


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
