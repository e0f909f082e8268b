"""Log context and formatters: every log line carries the request id, user, provider and
submission id it was written for, so one submission's path from upload to verdict can be
followed across the web process and the worker (grep its submission id or request id).

The context lives in contextvars: the request-id middleware binds the request's, the upload
service binds the new submission's, the Celery signals (portal/apps.py) carry the request id in
the task's headers and bind it again in the worker, and the runner binds the submission it runs.
LOG_FORMAT=json writes one JSON object a line; plain (the demo's default) a readable line with
the same fields.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

FIELDS = ("request_id", "user", "provider", "submission_id", "task_id")
_context: ContextVar[dict[str, object] | None] = ContextVar("log_context", default=None)


def current() -> dict[str, object]:
    """The fields bound now (a copy)."""
    return dict(_context.get() or {})


def bind(**fields) -> None:
    """Add fields to the current context (None values are dropped)."""
    merged = current()
    merged.update({k: v for k, v in fields.items() if v is not None})
    _context.set(merged)


@contextlib.contextmanager
def bound(**fields) -> Iterator[None]:
    """Fields bound for the block only (restored afterwards, also on error)."""
    token = _context.set({**current(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def clear() -> None:
    _context.set(None)


def new_request_id() -> str:
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (as attributes), so any formatter can use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, fields.get(name))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the context fields
    that are set, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class PlainFormatter(logging.Formatter):
    """A readable line: time, level, logger, the context fields that are set, then the message."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name, None) is not None
        )
        text = (
            f"{self.formatTime(record)} {record.levelname} {record.name}"
            f"{f' [{context}]' if context else ''} {record.getMessage()}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text
