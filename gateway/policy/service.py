"""What DPOs and agencies ask of the policy set: the flows, an explanation, the records."""

from __future__ import annotations

from gateway.policy.model import Confided, Emergency, Flow, PolicySet
from gateway.policy.models import (
    ConfidedOut,
    EmergencyOut,
    ExplainIn,
    Explanation,
    FlowOut,
    PolicySetOut,
    ProcessingActivity,
    RecordsOfProcessing,
)


def flow_out(flow: Flow) -> FlowOut:
    return FlowOut(
        id=flow.id,
        policy_id=flow.policy_id,
        provider_kind=flow.provider_kind,
        recipient_kind=flow.recipient_kind,
        fields={category: list(fields) for category, fields in flow.fields.items()},
        purposes=sorted(flow.purposes),
        legal_basis=str(flow.legal_basis),
        retention_days=flow.retention_days,
        cross_municipality=flow.cross_municipality,
        confided=confided_out(flow.confided),
        emergency=emergency_out(flow.emergency),
    )


def emergency_out(emergency: Emergency | None) -> EmergencyOut | None:
    if emergency is None:
        return None
    return EmergencyOut(
        reasons=sorted(emergency.reasons), max_window_hours=emergency.max_window_hours
    )


def confided_out(confided: Confided | None) -> ConfidedOut | None:
    if confided is None:
        return None
    return ConfidedOut(citation=confided.citation, categories=sorted(confided.categories))


def policy_set(policies: PolicySet) -> PolicySetOut:
    return PolicySetOut(
        digest=policies.digest,
        files=list(policies.files),
        flows=[flow_out(flow) for flow in policies.flows],
    )


def explain(policies: PolicySet, question: ExplainIn) -> Explanation:
    """Whether a query would be allowed: over ordinary flows, or with ``emergency`` over
    emergency flows only (the one never answers for the other)."""
    if question.emergency:
        return _explain_emergency(policies, question)
    category, purpose = question.category.value, question.purpose.value
    flows = policies.flows_for(
        question.provider_kind.value,
        question.recipient_kind.value,
        category,
        purpose,
        same_municipality=not question.cross_municipality,
    )
    what = _what(question)
    if not flows:
        return _denied(f"No flow allows {what}: it is denied (no_policy).")
    bases = sorted({str(flow.legal_basis) for flow in flows})
    citations = sorted({c.citation for flow in flows if (c := flow.confided_in(category))})
    confided = (
        f" The data is confided ({'; '.join(citations)}): only a consent its confiding person "
        "gave covers it (confiding_person among given_by)."
        if citations
        else ""
    )
    return Explanation(
        allowed=True,
        explanation=f"Allowed for {what} on the basis of {' or '.join(bases)}"
        + (" when the person's consent covers it at the time." if "consent" in bases else ".")
        + confided,
        released_fields=sorted({field for flow in flows for field in flow.fields[category]}),
        flows=[flow_out(flow) for flow in flows],
    )


def _explain_emergency(policies: PolicySet, question: ExplainIn) -> Explanation:
    category = question.category.value
    flow = policies.emergency_flow_for(
        question.provider_kind.value,
        question.recipient_kind.value,
        category,
        question.purpose.value,
        same_municipality=not question.cross_municipality,
    )
    what = _what(question)
    if flow is None or flow.emergency is None:
        return _denied(f"No emergency flow allows {what}: an emergency query for it is denied.")
    emergency = flow.emergency
    return Explanation(
        allowed=True,
        explanation=f"Allowed in an emergency for {what} on the basis of {flow.legal_basis}. "
        "An emergency query needs the scope exchange:emergency and a justification giving one "
        f"of the reason codes {', '.join(sorted(emergency.reasons))}; each use opens a window "
        f"of at most {emergency.max_window_hours} hours for that person and recipient, and is "
        "reviewed by a DPO.",
        released_fields=sorted(flow.fields[category]),
        flows=[flow_out(flow)],
    )


def _what(question: ExplainIn) -> str:
    return (
        f"a {question.provider_kind.value} giving {question.category.value} to a "
        f"{question.recipient_kind.value} for {question.purpose.value}"
    )


def _denied(explanation: str) -> Explanation:
    return Explanation(allowed=False, explanation=explanation, released_fields=[], flows=[])


def records_of_processing(policies: PolicySet) -> RecordsOfProcessing:
    return RecordsOfProcessing(
        policy_set_digest=policies.digest,
        activities=[
            ProcessingActivity(
                activity=flow.name,
                disclosing_kind=flow.provider_kind,
                receiving_kind=flow.recipient_kind,
                data={category: list(fields) for category, fields in flow.fields.items()},
                purposes=sorted(flow.purposes),
                legal_basis=str(flow.legal_basis),
                retention_days=flow.retention_days,
                within_municipality_only=not flow.cross_municipality,
                confided=confided_out(flow.confided),
                emergency=emergency_out(flow.emergency),
            )
            for flow in policies.flows
        ],
    )
