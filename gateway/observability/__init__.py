"""Logs, metrics and the per-request envelope (request id, body limit)."""
