"""The integrity page: the latest signed checkpoint and the ones before, the verifier key, and
"verify now", which runs the full verification and names the first bad position of a log
that was tampered with."""

from __future__ import annotations

import base64
import re
import threading
from datetime import UTC, datetime

import pytest

from gateway.audit.events import EventType
from tests.audit.dpo_api.seeded import record, unsubjected_denial
from tests.audit.tampering import query, tamper
from tests.dpo.pages import facts, rows_under
from tests.dpo.seeded import USER, Seeded, csrf_of, recorded


def grow(runtime) -> tuple[int, int]:
    """One more entry and a new checkpoint over it: (the size before, the size now)."""
    before = runtime.audit.publish(runtime.database).size
    record(runtime, (unsubjected_denial("grown"), datetime.now(UTC)))
    return before, runtime.audit.publish(runtime.database).size


def verify(client, scope: str = "new") -> str:
    token = csrf_of(client.get("/dpo/integrity").text)
    response = client.post("/dpo/integrity/verify", data={"csrf_token": token, "scope": scope})
    assert response.status_code == 303
    assert response.headers["location"] == "/dpo/integrity#verification"
    return str(client.get("/dpo/integrity").text)


def test_the_page_shows_the_latest_checkpoint_its_history_and_the_key(
    signed_in, runtime, seeded: Seeded
):
    before, size = grow(runtime)
    latest = runtime.audit.publish(runtime.database)
    html = signed_in.get("/dpo/integrity").text
    shown = facts(html)
    assert shown["Entries covered"] == str(size)
    assert latest.note.strip().splitlines()[0] in html  # the note's text, origin first
    assert latest.note.strip().splitlines()[-1].split()[-1] in html  # and its signature
    history = rows_under(html, "Entries covered")
    assert [row[0] for row in history] == [str(size), str(before)]  # newest first
    assert "Checkpoints in all: 2." in html
    assert runtime.audit.verifier.vkey() in html
    assert "The log has not been verified from these pages yet." in html


def test_verify_now_reports_an_intact_log_with_its_counts(signed_in, runtime, seeded: Seeded):
    _, size = grow(runtime)
    html = verify(signed_in)
    assert "The log is intact." in html
    assert f"Entries verified: {size}. Checkpoints verified: 2." in html
    assert f"Verified by {USER}" in html
    (run,) = recorded(runtime, EventType.AUDIT_VERIFIED)
    assert run["actor"] == USER
    ((stored,),) = query(
        runtime.settings.database_url, "SELECT root FROM audit_checkpoints WHERE size = :s", s=size
    )
    root = base64.b64encode(bytes(stored)).decode()
    assert run["details"] == {
        "intact": True,
        "entries": size,
        "checkpoints": 2,
        "problems": 0,
        "from_position": 0,
        "checkpoint_size": size,
        "checkpoint_root": root,
    }
    overview = signed_in.get("/dpo/overview").text
    assert facts(overview)["Last verification"].startswith("intact")


@pytest.mark.parametrize("column", ["body", "decision"])
def test_verify_now_names_the_first_bad_position_of_a_tampered_log(
    signed_in, runtime, settings, seeded: Seeded, column
):
    runtime.audit.publish(runtime.database)
    ((position, entry_id),) = query(
        settings.database_url,
        "SELECT l.seq, e.id FROM audit_leaves l JOIN audit_entries e ON e.id = l.entry_id "
        'WHERE e.body LIKE \'%"request_id":"b3"%\'',
    )
    if column == "body":
        statement = "UPDATE audit_entries SET body = replace(body, 'no_consent', 'no_policy') "
    else:
        statement = "UPDATE audit_entries SET decision = 'permit' "
    tamper(settings.database_url, statement + "WHERE id = :id", id=entry_id)

    html = verify(signed_in)
    assert "The log is NOT intact." in html
    assert f"First bad position: {position}." in html
    assert re.search(rf"position {position} was changed", html)
    (run,) = recorded(runtime, EventType.AUDIT_VERIFIED)
    assert run["details"]["intact"] is False
    assert run["details"]["first_bad_position"] == position
    assert facts(signed_in.get("/dpo/overview").text)["Last verification"].startswith("NOT")


@pytest.mark.parametrize("token", [None, "forged-token-of-the-right-length-abcdefghij"])
def test_a_forged_verify_form_is_refused_and_runs_nothing(signed_in, runtime, seeded, token):
    form = {} if token is None else {"csrf_token": token}
    response = signed_in.post("/dpo/integrity/verify", data=form)
    assert response.status_code == 403
    assert recorded(runtime, EventType.AUDIT_VERIFIED) == []


def test_a_log_without_checkpoints_says_so(signed_in):
    html = signed_in.get("/dpo/integrity").text
    assert "No checkpoint has been signed yet." in html


def test_verifying_lets_other_writers_go_on(signed_in, runtime, seeded: Seeded, monkeypatch):
    """A large log takes a while to verify; exchanges must not wait for it (on SQLite, a
    writing transaction around the verification would hold the one write lock)."""
    from gateway.dpo import integrity

    real_verify = integrity.verify_stored
    written = []

    def verify_while_another_writes(*args, **kwargs):
        def write() -> None:
            record(runtime, (unsubjected_denial("during-verification"), datetime.now(UTC)))
            written.append(True)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=5)
        assert written, "a writer waited for the verification"
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(integrity, "verify_stored", verify_while_another_writes)
    assert "The log is intact." in verify(signed_in)


def test_the_page_says_it_in_plain_words_and_keeps_the_technical_terms_for_experts(
    signed_in, runtime, seeded: Seeded
):
    html = signed_in.get("/dpo/integrity").text
    plain, _, technical = html.partition("<summary>In technical terms</summary>")
    assert "seals all entries recorded so far with its signature" in plain
    assert "Merkle" not in plain.split("<main")[1]
    assert "Merkle tree" in technical.split("</details>")[0]
    assert "Keep your own copy" in html
    assert "could cut the log short" in html


def test_the_signed_checkpoint_and_the_key_wrap_instead_of_scrolling(
    signed_in, runtime, seeded: Seeded
):
    latest = runtime.audit.publish(runtime.database)
    html = signed_in.get("/dpo/integrity").text
    signature = latest.note.strip().splitlines()[-1]
    notes = re.findall(r'<pre class="wrap" dir="ltr"><code>(.*?)</code></pre>', html, re.S)
    assert any(signature.split()[-1] in note for note in notes)
    assert any(runtime.audit.verifier.vkey() in note for note in notes)
    # Nothing on the page scrolls sideways in a box but the command, kept whole to be copied.
    boxes = re.findall(
        r'class="table-scroll[^"]*" role="region" tabindex="0" aria-label="([^"]*)"', html
    )
    assert boxes == ["The command that checks your copy"]


def test_waiting_entries_are_explained_with_when_they_will_be_sealed(
    signed_in, runtime, seeded: Seeded, monkeypatch
):
    runtime.audit.publish(runtime.database)
    record(runtime, (unsubjected_denial("waits"), datetime.now(UTC)))
    html = signed_in.get("/dpo/integrity").text
    assert facts(html)["Entries waiting for the next checkpoint"] == "1"
    assert "recorded and kept, but not yet sealed in a signed checkpoint" in html
    # These tests' gateway signs no checkpoints in the background; a running one does.
    assert (
        'the operator seals them with the command <code dir="ltr">gateway audit checkpoint</code>'
        in html
    )
    from gateway.dpo import integrity

    real = integrity.status
    monkeypatch.setattr(integrity, "status", lambda session, audit, _: real(session, audit, 5.0))
    html = signed_in.get("/dpo/integrity").text
    assert "The gateway seals new entries every 5 seconds" in html


def test_the_next_check_reads_only_what_was_added_and_the_whole_check_everything(
    signed_in, runtime, settings, seeded: Seeded
):
    """After an intact check, "check the new entries" starts where it ended; an old entry
    changed since is for "check the whole log" to find, and it does."""
    _, first_size = grow(runtime)
    verify(signed_in)
    _, size = grow(runtime)
    html = verify(signed_in)
    assert "The log is intact." in html
    assert f"This check began at position {first_size}" in html
    runs = recorded(runtime, EventType.AUDIT_VERIFIED)
    assert runs[-1]["details"]["from_position"] == first_size
    assert runs[-1]["details"]["checkpoint_size"] >= size
    ((entry_id,),) = query(settings.database_url, "SELECT entry_id FROM audit_leaves WHERE seq = 1")
    tamper(
        settings.database_url,
        "UPDATE audit_entries SET body = replace(body, :old, :new) WHERE id = :id",
        old='"v":2',
        new='"v":3',
        id=entry_id,
    )
    assert "The log is intact." in verify(signed_in)  # position 1 lies before its start
    whole = verify(signed_in, "whole")
    assert "The log is NOT intact." in whole
    assert "First bad position: 1." in whole
    assert recorded(runtime, EventType.AUDIT_VERIFIED)[-1]["details"]["from_position"] == 0


def test_a_checkpoint_rewritten_since_the_last_check_makes_the_next_check_whole(
    signed_in, runtime, settings, seeded: Seeded
):
    _, size = grow(runtime)
    verify(signed_in)
    grow(runtime)
    # The operator re-signs nothing but swaps the root the last check ended at.
    tamper(
        settings.database_url,
        "UPDATE audit_checkpoints SET root = :root WHERE size = :size",
        root=b"\x00" * 32,
        size=size,
    )
    html = verify(signed_in)
    assert "This check began at position" not in html
    assert recorded(runtime, EventType.AUDIT_VERIFIED)[-1]["details"]["from_position"] == 0


def test_without_witnesses_the_page_says_the_checkpoints_carry_only_the_gateways_signature(
    signed_in, seeded: Seeded
):
    html = signed_in.get("/dpo/integrity").text
    assert "No witnesses are configured" in html


def test_an_unknown_check_is_refused_and_runs_nothing(signed_in, runtime, seeded: Seeded):
    token = csrf_of(signed_in.get("/dpo/integrity").text)
    response = signed_in.post(
        "/dpo/integrity/verify", data={"csrf_token": token, "scope": "everything"}
    )
    assert 400 <= response.status_code < 500
    assert recorded(runtime, EventType.AUDIT_VERIFIED) == []
