"""A small SDK for agency systems talking to the gateway."""

from gateway.client.auth import AgencyKey, TokenSource

__all__ = ["AgencyKey", "TokenSource"]
