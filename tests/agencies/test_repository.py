"""The registry's lookups of requests: a client with its agency, if it is one, read in one
statement for one, two (a pair: the caller and the other party) or many ids alike."""

from __future__ import annotations

import pytest

from consent.vocabulary import AgencyKind
from gateway.agencies import repository as registry
from gateway.agencies.repository import Registered
from gateway.agencies.tables import ClientRole
from gateway.db.engine import Database
from tests.support import Clients

JOBCENTRE, ABH, DPO = "koeln-jobcenter", "bonn-auslaenderbehoerde", "dpo-koeln"


@pytest.fixture
def registered(clients: Clients) -> Clients:
    clients.agency(JOBCENTRE, AgencyKind.JOB_CENTRE)
    clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE, municipality="bonn")
    clients.other(DPO, ClientRole.DPO)
    clients.disable(ABH)
    return clients


@pytest.mark.usefixtures("registered")
@pytest.mark.parametrize(
    "ids",
    [
        (JOBCENTRE,),
        (JOBCENTRE, ABH),
        (JOBCENTRE, ABH, DPO, "nobody"),
        (JOBCENTRE, JOBCENTRE),
        (JOBCENTRE, "nobody"),
    ],
)
def test_clients_are_found_with_their_agencies_however_many_are_asked_for(
    database: Database, ids: tuple[str, ...]
):
    with database.transaction(read_only=True) as session:
        found = registry.clients(session, *ids)
        agencies = registry.agencies(session, *ids)

    expected = {
        JOBCENTRE: Registered(JOBCENTRE, f"Agency {JOBCENTRE}", "job_centre", "koeln", None, True),
        ABH: Registered(ABH, f"Agency {ABH}", "foreigners_office", "bonn", None, False),
    }
    assert set(found) == set(ids) - {"nobody"}
    assert agencies == {key: value for key, value in expected.items() if key in ids}
    for client_id, client in found.items():
        assert client.id == client_id
        assert client.agency == expected.get(client_id)
    if DPO in found:
        assert (found[DPO].role, found[DPO].enabled, found[DPO].agency) == ("dpo", True, None)


@pytest.mark.usefixtures("registered")
def test_the_caller_is_a_client_of_any_role(database: Database):
    with database.transaction(read_only=True) as session:
        dpo = registry.caller(session, DPO)
        disabled = registry.caller(session, ABH)
        unknown = registry.caller(session, "nobody")

    assert dpo is not None
    assert (dpo.role, dpo.agency) == ("dpo", None)
    assert disabled is not None
    assert not disabled.enabled
    assert disabled.agency is not None
    assert not disabled.agency.enabled
    assert unknown is None
