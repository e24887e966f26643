"""Records of pruning: the only licence for an audit entry to lose its content.

Retention empties the bodies of old entries; their leaf hashes stay, so the log still
verifies. That must never become a way to erase an entry unseen, so an entry may lose its
content only under a record the log itself holds: an ``audit.pruned`` entry naming a tree
position P and a cut-off time T, signed with the log's checkpoint key, which says "every entry
below position P was recorded before T". A verifier checks the position, since an emptied
entry's time can no longer be checked against its hash; the signature keeps an operator who can
write to the database, but cannot read the key folder, from writing a licence of their own.
Records of pruning are never pruned themselves.

The signed text is ``<origin>\\naudit.pruned\\n<P>\\n<T>\\n``: a signed note that can never be
read as a checkpoint (whose second line is a tree size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.audit.events import EventType
from gateway.audit.notes import SIGNATURE_PREFIX, NoteError, Signer, Verifier, open_note

RECORD = EventType.AUDIT_PRUNED


@dataclass(frozen=True)
class Licence:
    position: int  # where the record of pruning stands in the tree
    below: int  # entries below this position may have lost their content ...
    before: str  # ... having all been recorded before this time


@dataclass(frozen=True)
class Forged:
    """An entry that claims to license pruning but does not."""

    position: int
    reason: str


def licence_details(signer: Signer, below: int, before: str, entries: int) -> dict[str, Any]:
    """The ``details`` of the record of pruning that licenses positions below ``below``."""
    note = signer.sign(_text(signer.name, below, before))
    signature = note.rsplit(" ", 1)[1].strip()  # base64(key id || Ed25519 signature)
    return {
        "below_position": below,
        "recorded_before": before,
        "entries": entries,
        "signature": signature,
    }


def read_licence(
    body: dict[str, Any], position: int, verifier: Verifier
) -> Licence | Forged | None:
    """What the entry at ``position`` licenses: a Licence; Forged if it claims to license
    and does not hold; None if it claims nothing (another event, or a record of pruning of the
    kind written before licences existed, which named no position)."""
    details = body.get("details")
    if body.get("event") != RECORD.value or not isinstance(details, dict):
        return None
    if "below_position" not in details:
        return None
    below, before, signature = (
        details.get("below_position"),
        details.get("recorded_before"),
        details.get("signature"),
    )
    if type(below) is not int or not isinstance(before, str) or not isinstance(signature, str):
        return Forged(position, "is malformed")
    if not 0 < below <= position:
        return Forged(position, "names positions it cannot cover")
    note = f"{_text(verifier.name, below, before)}\n{SIGNATURE_PREFIX}{verifier.name} {signature}\n"
    try:
        open_note(note, verifier)
    except NoteError:
        return Forged(position, "is not signed by the log's key")
    return Licence(position, below, before)


def _text(origin: str, below: int, before: str) -> str:
    return f"{origin}\n{RECORD.value}\n{below}\n{before}\n"
