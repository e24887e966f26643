"""Structured (JSON lines) logging.

Log records carry identifiers of requests, routes and clients, never personal data: no subject
references, names, payloads, query strings or credentials. Code that logs passes such context
through ``extra=`` with the field names in ``FIELDS``; anything else in ``extra`` is dropped.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

FIELDS = (
    "request_id",
    "trace_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "client_id",
    "event",
    "kid",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and traceback locations, not its message: messages of
            # database and validation errors can quote the data that caused them.
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self._locations(record)
        return json.dumps(entry, ensure_ascii=False)

    @staticmethod
    def _locations(record: logging.LogRecord) -> list[str]:
        assert record.exc_info is not None
        trace = record.exc_info[2]
        locations = []
        while trace is not None:
            frame = trace.tb_frame
            locations.append(f"{frame.f_code.co_filename}:{trace.tb_lineno} {frame.f_code.co_name}")
            trace = trace.tb_next
        return locations[-8:]


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log prints full paths with query strings; ours prints route templates.
    logging.getLogger("uvicorn.access").disabled = True
    # authlib logs issued tokens and client assertions at DEBUG: never let it, whatever the level.
    logging.getLogger("authlib").setLevel(logging.INFO)
    # HTTP clients log every URL they call at INFO, query strings included.
    for name in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
