"""A reference provider: an agency system's side of ``POST /gateway/v1/fetch``, with a small
case store. Used by the demo and the tests; a blueprint for agencies' own implementations."""
