"""Problem types of the DPO pages (answered as pages in the visitor's language)."""

from __future__ import annotations

from gateway.errors import problem_type

SIGN_IN_LOCKED = problem_type(
    "dpo-sign-in-locked",
    "Too many sign-in attempts",
    429,
    "Too many failed sign-ins with this user name or from this address: wait and try again.",
)
