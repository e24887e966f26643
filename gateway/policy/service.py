"""What DPOs and agencies ask of the policy set: the flows, an explanation, the records."""

from __future__ import annotations

from gateway.policy.model import Confided, Flow, PolicySet
from gateway.policy.models import (
    ConfidedOut,
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
    category, purpose = question.category.value, question.purpose.value
    flows = policies.flows_for(
        question.provider_kind.value,
        question.recipient_kind.value,
        category,
        purpose,
        same_municipality=not question.cross_municipality,
    )
    what = (
        f"a {question.provider_kind.value} giving {category} to a "
        f"{question.recipient_kind.value} for {purpose}"
    )
    if not flows:
        return Explanation(
            allowed=False,
            explanation=f"No flow allows {what}: it is denied (no_policy).",
            released_fields=[],
            flows=[],
        )
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
            )
            for flow in policies.flows
        ],
    )
