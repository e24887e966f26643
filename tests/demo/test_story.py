"""The demo story the README walks through (``gateway/demo/story.py`` itself), end to end against a
gateway in demo mode: the job centre records a consent, asks the foreigners' office (a simulated
system inside the gateway) and gets only the released fields; it invites the youth welfare office
to a case conference, whose system files the invitation under its own reference and acknowledges
it; the consent is withdrawn; the same query and a second invitation are denied; both offices are
told; the audit log verifies."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from gateway.audit.tables import AuditEntry
from gateway.audit.verify import verify_stored
from gateway.demo.agencies import set_up
from gateway.demo.cases import REFERENCES
from gateway.demo.story import tell
from gateway.messages.tables import Message
from tests.support import start_live_server

JC, JA = "koeln-jobcenter", "koeln-jugendamt"
RELEASED = {
    "title": "residence_permit",
    "valid_until": "2028-02-29",
    "employment_permitted": "yes",
    "residence_obligation": None,
}


def test_the_demo_story(database_url: str, tmp_path: Path):
    with start_live_server(database_url, tmp_path, demo=True) as gateway:
        runtime = gateway.runtime
        settings = runtime.settings
        set_up(runtime.database, runtime.audit, settings.demo_dir, settings.issuer,
               runtime.policies)  # fmt: skip
        said: list[str] = []
        tell(gateway.url, gateway.token_endpoint, runtime.settings.demo_dir, said.append)

        steps = {line.split(".")[0]: line for line in said if line[0].isdigit()}
        assert sorted(steps, key=int) == [str(step) for step in range(1, 11)]
        assert steps["2"].endswith(f": {{'residence_status': {RELEASED!r}}}")
        assert steps["3"].startswith("3. the job centre invites the youth welfare office")
        assert f"under its own reference {REFERENCES[JA]} and acknowledged" in steps["4"]
        assert REFERENCES[JC] not in "\n".join(said)
        assert steps["6"] == "6. the same question now: refused (consent_withdrawn)"
        assert steps["7"] == "7. a second invitation now: refused (consent_withdrawn)"
        assert steps["8"].startswith(
            "8. withdrawal notices to the job centre (1 exchange) "
            "and the youth welfare office (1 message)"
        )
        assert "asks in an emergency, without consent (statute: § 8a" in steps["9"]
        assert "'residence_status': {'title': 'residence_permit'" in steps["9"]
        assert "employment_permitted" not in steps["9"]  # only the emergency flow's fields

        with runtime.database.transaction(read_only=True) as session:
            (message,) = session.scalars(select(Message)).all()
            assert (message.sender, message.recipient) == (JC, JA)
            assert message.state == "acknowledged"
            assert message.ciphertext is None
            sent = session.execute(
                select(AuditEntry.decision, AuditEntry.reason)
                .where(AuditEntry.event == "message.sent")
                .order_by(AuditEntry.id)
            ).all()
            assert [tuple(row) for row in sent] == [("permit", None), ("deny", "consent_withdrawn")]

        runtime.audit.publish(runtime.database)
        with runtime.database.transaction(read_only=True) as session:
            report = verify_stored(session, runtime.audit.verifier)
        assert report.intact, report.problems
        assert report.size >= 12  # clients added, consent, permits, fetch, ack, withdrawal, denials
