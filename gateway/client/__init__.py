"""A small SDK for agency systems talking to the gateway."""

from gateway.client.api import (
    ExchangeDenied,
    GatewayClient,
    GatewayProblem,
    InvalidRequest,
    MessageGone,
    NotFound,
    PayloadTooLarge,
    ProviderFailed,
)
from gateway.client.auth import AgencyKey, TokenSource

__all__ = [
    "AgencyKey",
    "ExchangeDenied",
    "GatewayClient",
    "GatewayProblem",
    "InvalidRequest",
    "MessageGone",
    "NotFound",
    "PayloadTooLarge",
    "ProviderFailed",
    "TokenSource",
]
