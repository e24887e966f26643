"""In demo mode, the four demo agencies' systems run inside the gateway, as reference providers
with the sample case files, so that queries have someone to ask."""

from __future__ import annotations

from fastapi import FastAPI

from gateway.demo.agencies import DEMO_AGENCIES, PROVIDERS_PATH
from gateway.demo.cases import CASES
from gateway.runtime import Runtime
from gateway.simulator.app import provider_app


def mount_demo_providers(app: FastAPI, runtime: Runtime) -> None:
    for agency in DEMO_AGENCIES:
        simulated = provider_app(
            agency.id,
            runtime.settings.issuer,
            runtime.keys.verification_keyset,
            CASES.get(agency.id, {}),
        )
        app.mount(f"{PROVIDERS_PATH}/{agency.id}", simulated)
