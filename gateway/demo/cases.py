"""Sample case files of the demo agencies' systems: one family's father, known to each office
under its own reference. Invented data; it exists only in demo mode."""

from __future__ import annotations

from typing import Any

REFERENCES = {
    "koeln-auslaenderbehoerde": "ABH-2026-0042",
    "koeln-jobcenter": "JC-962-4711",
    "koeln-jugendamt": "JA-77-12",
    "koeln-sozialamt": "SA-31-2002",
}

CASES: dict[str, dict[str, dict[str, Any]]] = {
    "koeln-auslaenderbehoerde": {
        "ABH-2026-0042": {
            "residence_status": {
                "title": "residence_permit",
                "legal_provision": "§ 25 Abs. 2 AufenthG",
                "valid_from": "2025-03-01",
                "valid_until": "2028-02-29",
                "employment_permitted": "yes",
                "residence_obligation": None,
                "integration_course_obligation": True,
            }
        }
    },
    "koeln-jobcenter": {
        "JC-962-4711": {
            "benefit_status": {
                "benefit": "sgb2_citizens_income",
                "status": "granted",
                "since": "2025-04-01",
                "until": None,
                "household_size": 4,
            },
            "integration_measures": [
                {
                    "type": "integration_course",
                    "status": "ongoing",
                    "start": "2025-09-01",
                    "end": None,
                    "level": "B1",
                }
            ],
        }
    },
    "koeln-jugendamt": {
        "JA-77-12": {
            "youth_welfare_support": {
                "support_type": "educational_support",
                "status": "ongoing",
                "since": "2025-10-15",
                "lead_contact": {
                    "name": "Demo Fachkraft",
                    "phone": "+49 221 0000000",
                    "email": "fachkraft@example.org",
                },
            }
        }
    },
    "koeln-sozialamt": {
        "SA-31-2002": {
            "benefit_status": {
                "benefit": "none",
                "status": "ended",
                "since": "2024-11-01",
                "until": "2025-03-31",
                "household_size": 4,
            }
        }
    },
}
