"""Schemas: the JSON Schemas (draft 2020-12) every exchanged category is validated against."""
