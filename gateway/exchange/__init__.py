"""Queries between agencies: the provider's system asked, its answer validated, and released
through the release core (``gateway.release``)."""
