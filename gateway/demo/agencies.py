"""The demo city's agencies and their keys.

Their private keys are written to the demo folder so that a person trying the gateway can get
tokens. Demo clients are marked as such and refused whenever the gateway runs without --demo.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import OKPKey

from consent.vocabulary import AgencyKind
from gateway.agencies import repository, service
from gateway.audit.service import AuditLog
from gateway.db.engine import Database
from gateway.policy.model import PolicySet

DEMO_MUNICIPALITY = "koeln"


@dataclass(frozen=True)
class DemoAgency:
    id: str
    kind: AgencyKind
    name: str
    street: str  # the demo's made-up address, phone and hours
    phone: str
    hours: str

    @property
    def contact(self) -> dict[str, str | None]:
        host = f"{self.id.removeprefix('koeln-')}.koeln.example"
        return {
            "address": f"{self.name}\n{self.street}\n50667 Köln",
            "phone": self.phone,
            "email": f"kontakt@{host}",
            "website": f"https://{host}/",
            "hours": self.hours,
            "interpreter": "Arabisch, Dari/Farsi, Türkisch, Ukrainisch: "
            "bitte bei der Terminvereinbarung sagen (kostenlos)",
            "privacy_contact": f"Datenschutzbeauftragte/r, {self.name}, {self.street}, 50667 Köln",
            "privacy_email": f"datenschutz@{host}",
        }


DEMO_AGENCIES = (
    DemoAgency("koeln-auslaenderbehoerde", AgencyKind.FOREIGNERS_OFFICE, "Ausländerbehörde Köln",
               "Beispielstraße 1", "+49 221 0000-100", "Mo, Di, Do 8-12 Uhr; Do 14-18 Uhr"),
    DemoAgency("koeln-jobcenter", AgencyKind.JOB_CENTRE, "Jobcenter Köln",
               "Beispielstraße 2", "+49 221 0000-200", "Mo-Fr 8-12:30 Uhr; Do 14-17 Uhr"),
    DemoAgency("koeln-jugendamt", AgencyKind.YOUTH_WELFARE_OFFICE, "Jugendamt Köln",
               "Beispielstraße 3", "+49 221 0000-300", "Mo-Fr 8-16 Uhr; in Notfällen jederzeit"),
    DemoAgency("koeln-sozialamt", AgencyKind.SOCIAL_OFFICE, "Sozialamt Köln",
               "Beispielstraße 4", "+49 221 0000-400", "Mo, Mi, Fr 8-12 Uhr"),
)  # fmt: skip


# Who runs the demo's portal, and where a person may complain: made up like the agencies'.
DEMO_CONTACTS = {
    "GATEWAY_PORTAL_OPERATOR": "Stadt Köln (Demo), Amt für Digitalisierung, Beispielplatz 1, "
    "50667 Köln\\nDatenschutzbeauftragte/r: datenschutz@stadt.koeln.example",
    "GATEWAY_SUPERVISORY_AUTHORITY": "Landesbeauftragte für Datenschutz (Demo), "
    "Beispielweg 5, 40213 Düsseldorf, poststelle@datenschutz.example",
}


def key_path(demo_dir: Path, agency_id: str) -> Path:
    return demo_dir / f"{agency_id}.private.jwk.json"


PROVIDERS_PATH = "/demo/providers"


def provider_url(issuer: str, agency_id: str) -> str:
    """Where the demo agency's simulated system answers the gateway (mounted in the gateway)."""
    return f"{issuer}{PROVIDERS_PATH}/{agency_id}"


def set_up(
    database: Database, audit: AuditLog, demo_dir: Path, issuer: str, policies: PolicySet
) -> list[tuple[DemoAgency, Path]]:
    """Register the demo agencies (once) with keys from the demo folder (made if missing);
    the youth welfare office may make emergency queries where the policy set has flows for
    them (the demo story's last step makes one)."""
    demo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    prepared = []
    with database.transaction() as session:
        for agency in DEMO_AGENCIES:
            path = key_path(demo_dir, agency.id)
            key = _load_or_create_key(path)
            public_jwks = json.dumps({"keys": [key.as_dict(private=False)]})
            client = repository.get_client(session, agency.id)
            if client is None:
                service.register_agency(
                    session,
                    audit,
                    agency_id=agency.id,
                    kind=agency.kind.value,
                    municipality=DEMO_MUNICIPALITY,
                    name=agency.name,
                    credential=service.Credential(jwks_text=public_jwks),
                    provider_url=provider_url(issuer, agency.id),
                    contact=agency.contact,
                    demo=True,
                )
            elif client.demo:
                # The demo folder may have been deleted since: the keys on disk are the truth.
                client.jwks = json.loads(public_jwks)
                service.update_agency(
                    session, audit, agency.id, provider_url=provider_url(issuer, agency.id),
                    contact=agency.contact,
                )  # fmt: skip
            ours = client is None or client.demo
            if ours and agency.kind is AgencyKind.YOUTH_WELFARE_OFFICE:
                # No emergency flow to it in this policy set: the demo goes without.
                with contextlib.suppress(service.RegistryError):
                    service.set_emergency_access(
                        session, audit, agency.id, allowed=True, policies=policies
                    )
            prepared.append((agency, path))
    return prepared


def _load_or_create_key(path: Path) -> OKPKey:
    if path.exists():
        key = OKPKey.import_key(json.loads(path.read_text()))
        return OKPKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})
    key = OKPKey.generate_key("Ed25519", private=True)
    jwk = key.as_dict(private=True) | {"kid": key.thumbprint()}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(jwk, handle, indent=2)
    return OKPKey.import_key(jwk)
