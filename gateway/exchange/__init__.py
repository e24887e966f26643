"""Exchanges: queries between agencies, decided, fetched, validated, minimised and audited."""
