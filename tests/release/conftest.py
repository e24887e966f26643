"""The release core's tests reach the gateway as the adversarial tests do: a live gateway with
the Köln offices and their provider systems (``city``)."""

from __future__ import annotations

from tests.adversarial.conftest import city

__all__ = ["city"]
