"""The witness's one decision (C2SP tlog-witness ``add-checkpoint``): is this checkpoint
signed by a log we trust, and consistent with the latest one we cosigned for it? Then cosign
it and remember it; otherwise refuse with the status the spec prescribes.

The answers are plain text, as the spec has them (not problem+json): a client speaking
tlog-witness reads the status, and a 409's body is the recorded size.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from gateway.audit.cosignatures import Cosigner, split_note, with_cosignatures
from gateway.audit.merkle import EMPTY_ROOT, verify_consistency
from gateway.audit.notes import SIGNATURE_PREFIX, Checkpoint, NoteError, Verifier
from gateway.witness.store import Cosigned, WitnessStore

MAX_PROOF_LINES = 63
SIZE_TYPE = "text/x.tlog.size"
TEXT_TYPE = "text/plain; charset=utf-8"
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]*)")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT_TYPE


class Refused(Exception):
    def __init__(self, status: int, reason: str, content_type: str = TEXT_TYPE):
        super().__init__(reason)
        self.answer = Answer(status, reason + "\n", content_type)


@dataclass(frozen=True)
class Submission:
    old: int
    proof: list[bytes]
    note: str
    text: str  # the checkpoint's note text
    checkpoint: Checkpoint
    signatures: list[str]


def parse_submission(body: bytes) -> Submission:
    """The request body: ``old <size>``, up to 63 base64 proof hashes, a blank line, the
    signed checkpoint. Refused(400) for anything else."""
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    head, separator, note = decoded.partition("\n\n")
    lines = head.split("\n")
    matched = _OLD_LINE.fullmatch(lines[0])
    if not separator or matched is None:
        raise Refused(400, "the body starts with an old size line, then the proof, a blank line")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refused(400, f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            digest = base64.b64decode(line, validate=True)
        except binascii.Error:
            raise Refused(400, "a proof line is not base64") from None
        if len(digest) != 32:
            raise Refused(400, "a proof line is not a SHA-256 hash")
        proof.append(digest)
    try:
        text, signatures = split_note(note)
        checkpoint = Checkpoint.parse(text)
    except NoteError as bad:
        raise Refused(400, f"not a checkpoint: {bad}") from None
    if any(not line.startswith(SIGNATURE_PREFIX) for line in signatures):
        raise Refused(400, "not a checkpoint: malformed signature line")
    old = int(matched.group(1))
    if old > checkpoint.size:
        raise Refused(400, "the old size is larger than the checkpoint's")
    return Submission(old, proof, note, text, checkpoint, signatures)


def log_signatures(submission: Submission, keys: list[Verifier]) -> tuple[Verifier, list[str]]:
    """The trusted key that signed the checkpoint and its verified signature lines. Refused(403)
    if none did, or if a line claiming a trusted key fails to verify; lines of other keys are
    ignored."""
    verified: list[str] = []
    signer: Verifier | None = None
    for line in submission.signatures:
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue  # not a signature by any key we know
        for key in keys:
            if name != key.name or raw[:4] != key.id:
                continue
            try:
                key.public_key.verify(raw[4:], submission.text.encode())
            except InvalidSignature:
                raise Refused(403, "a trusted key's signature does not verify") from None
            verified.append(line)
            signer = signer or key
    if signer is None:
        raise Refused(403, "no signature by a key trusted for this origin")
    return signer, verified


class Witness:
    def __init__(
        self, cosigner: Cosigner, store: WitnessStore, clock: Callable[[], float] = time.time
    ):
        self.cosigner = cosigner
        self.store = store
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        origin = None
        try:
            submission = parse_submission(body)
            origin = submission.checkpoint.origin
            keys = self.store.log_keys(origin)
            if not keys:
                raise Refused(404, "unknown log origin")
            signer, signatures = log_signatures(submission, keys)
            checkpoint = submission.checkpoint
            if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
                raise Refused(422, "an empty tree's root is the hash of the empty string")
            return self.store.advance(
                origin, lambda current: self._cosign(submission, signer, signatures, current)
            )
        except Refused as refused:
            # The status and the origin only: never the body.
            log.info("add-checkpoint refused: %d, origin %r", refused.answer.status, origin)
            return refused.answer

    def _cosign(
        self,
        submission: Submission,
        signer: Verifier,
        signatures: list[str],
        current: Cosigned | None,
    ) -> tuple[Cosigned, Answer]:
        """Runs inside the store's write transaction: the check and the update are one."""
        checkpoint = submission.checkpoint
        recorded_size = current.size if current else 0
        recorded_root = current.root if current else EMPTY_ROOT
        if submission.old != recorded_size:
            raise Refused(409, str(recorded_size), SIZE_TYPE)
        if submission.old == 0 and submission.proof:
            raise Refused(422, "no proof is needed from the empty tree")
        if submission.old == checkpoint.size and checkpoint.root != recorded_root:
            raise Refused(422, "same size, different root hash")
        if not verify_consistency(
            submission.old, checkpoint.size, recorded_root, checkpoint.root, submission.proof
        ):
            raise Refused(422, "the consistency proof does not verify")
        now = max(int(self._clock()), 1)
        cosignature = self.cosigner.cosign(submission.text, now)
        kept = with_cosignatures(
            submission.text + "\n" + "".join(f"{s}\n" for s in signatures), [cosignature]
        )
        new = Cosigned(
            checkpoint.origin, signer.id.hex(), checkpoint.size, checkpoint.root, kept, now
        )
        return new, Answer(200, cosignature)

    def checkpoint(self, hashed_origin: str) -> str | None:
        """The latest checkpoint cosigned for the log whose origin hashes to ``hashed_origin``."""
        latest = self.store.latest_by_hash(hashed_origin.lower())
        return latest.note if latest else None
