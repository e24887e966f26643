"""``traceparent`` is read as W3C Trace Context says: a valid one is continued, anything else
is ignored and a new trace started; outgoing calls carry the trace id with a span of their own."""

from __future__ import annotations

import re

import pytest

from gateway.observability.tracing import Trace, parse, trace_of

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
VALID = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
OUTGOING = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")


def test_a_valid_traceparent_names_its_trace_and_sampling():
    assert parse(VALID) == Trace(TRACE_ID, sampled=True)
    assert parse(f"00-{TRACE_ID}-00f067aa0ba902b7-00") == Trace(TRACE_ID, sampled=False)
    # Only the sampled bit means anything in version 00; other bits are not ours to pass on.
    assert parse(f"00-{TRACE_ID}-00f067aa0ba902b7-02") == Trace(TRACE_ID, sampled=False)


def test_a_later_version_is_read_by_its_first_four_fields():
    assert parse(f"cc-{TRACE_ID}-00f067aa0ba902b7-01-what-comes-later") == Trace(TRACE_ID, True)


@pytest.mark.parametrize(
    "value",
    [
        VALID.upper(),  # upper-case hex is invalid
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01",  # version ff is forbidden
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # an all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # an all-zero parent id
        f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01",
        f"00-{TRACE_ID}-00f067aa0ba902b7",
        f" {VALID}",
        "JC-4711",
        "",
    ],
)
def test_an_invalid_traceparent_is_ignored(value: str):
    assert parse(value) is None
    started = trace_of([(b"traceparent", value.encode("latin-1"))])
    assert started.trace_id != TRACE_ID
    assert re.fullmatch(r"[0-9a-f]{32}", started.trace_id)


def test_two_traceparent_headers_are_as_invalid_as_a_malformed_one():
    other = f"00-{'1' * 32}-00f067aa0ba902b7-01"
    started = trace_of([(b"traceparent", VALID.encode()), (b"traceparent", other.encode())])
    assert started.trace_id not in (TRACE_ID, "1" * 32)


def test_without_a_traceparent_each_request_starts_its_own_trace():
    first, second = trace_of([]), trace_of([(b"x-request-id", b"r")])
    assert first.trace_id != second.trace_id
    assert not first.sampled


def test_an_outgoing_call_keeps_the_trace_and_the_sampling_with_a_span_of_its_own():
    trace = Trace(TRACE_ID, sampled=True)
    first, second = trace.outgoing(), trace.outgoing()
    for value in (first, second):
        match = OUTGOING.fullmatch(value)
        assert match is not None
        assert match.group(1) == TRACE_ID
        assert value.endswith("-01")
        assert parse(value) == trace  # the provider reads what the caller sent
    assert first != second  # a new span per call
    assert Trace(TRACE_ID).outgoing().endswith("-00")
