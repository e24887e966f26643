"""A rotation of the key-encryption keys re-wraps the persons' texts too, so they still open
for the providing office, and the retired key is not kept for them."""

from __future__ import annotations

from sqlalchemy import select

from gateway.keys import repository
from gateway.keys.rewrap import rewrap_sealed
from gateway.rectifications.tables import Rectification
from tests.portal.conftest import ABH, AMIRA, BENEFITS, JC, RESIDENCE
from tests.rectifications.conftest import flag, released


def test_a_rotation_rewraps_the_text_and_it_still_opens(signed_in, offices, runtime):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    release = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    assert flag(signed_in(amira), release, "Das stimmt nicht.").status_code == 303
    with runtime.database.transaction(read_only=True) as session:
        old = session.scalars(select(Rectification.key_id)).one()

    new = runtime.sealing.rotate()
    rewrapped = rewrap_sealed(runtime.database, runtime.sealing)

    assert rewrapped.count >= 1
    assert rewrapped.unreadable == 0
    with runtime.database.transaction(read_only=True) as session:
        assert repository.key_ids_in_use(session) == {new}
    assert old != new
    (notice,) = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json()[
        "rectifications"
    ]
    assert notice["text"] == "Das stimmt nicht."
