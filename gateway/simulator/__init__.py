"""A reference agency system: the provider's side of ``POST /gateway/v1/fetch`` (``app``) and
the receiving side of messages (``inbox``), over a small case store. Used by the demo and the
tests; a blueprint for agencies' own implementations."""
