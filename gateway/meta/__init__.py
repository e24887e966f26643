"""Operational endpoints: liveness, readiness, metrics, and the documentation of problem types."""
