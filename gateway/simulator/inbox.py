"""The reference agency system's receiving side: it reads its inbox at the gateway, files each
message in its case store under its own reference for the person, and only then acknowledges.

Delivery is at-least-once: a system that stops between filing and acknowledging gets the same
message again on its next round, so filing is idempotent by message id. A blueprint for
agencies' own implementations, used by the demo story and the tests.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from gateway.client import GatewayClient, MessageGone

CaseStore = MutableMapping[str, dict[str, Any]]
"""Reference -> the case file: category -> data, and ``messages``, the messages filed."""


@dataclass
class Received:
    """What one round of receiving did."""

    filed: list[str] = field(default_factory=list)  # newly filed and acknowledged
    refiled: list[str] = field(default_factory=list)  # filed in an earlier round, now acked
    skipped: dict[str, str] = field(default_factory=dict)  # message id -> why (MessageGone)


def receive(gateway: GatewayClient, cases: CaseStore) -> Received:
    """Fetch every pending message, file it in ``cases``, then acknowledge it.

    Messages the gateway no longer holds (withheld after a withdrawal, expired) are skipped;
    one withheld between filing and acknowledging stays filed, and the withdrawal notice names
    it. Other problems propagate: what is not yet acknowledged stays pending for the next round.
    """
    received = Received()
    for summary in gateway.inbox("pending"):
        message_id = summary["message_id"]
        try:
            message = gateway.fetch_message(message_id)
            newly_filed = file_message(cases, message)
            gateway.ack_message(message_id)
        except MessageGone as gone:
            received.skipped[message_id] = gone.reason or gone.title
            continue
        (received.filed if newly_filed else received.refiled).append(message_id)
    return received


def file_message(cases: CaseStore, message: dict[str, Any]) -> bool:
    """File a fetched message under the recipient's own reference, once; False when it was
    filed before."""
    filed = cases.setdefault(message["subject_ref"], {}).setdefault("messages", [])
    if any(entry["message_id"] == message["message_id"] for entry in filed):
        return False
    filed.append(
        {
            "message_id": message["message_id"],
            "sender": message["sender"],
            "category": message["category"],
            "purpose": message["purpose"],
            "sent_at": message["created_at"],
            "payload": message["payload"],
        }
    )
    return True
