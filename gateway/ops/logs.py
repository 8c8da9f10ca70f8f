"""Logs: one JSON object a line, with phone numbers, emails and secrets masked in every record.

The masking sits in the handler, not in our own log calls, so the libraries' loggers go through
it too: strawberry logs the original exception of a masked error (traceback included) to
`strawberry.execution`, and httpx logs every request URL at INFO.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

# URL-encoded forms too (%40, %2B, %20): httpx logs request URLs as sent.
_EMAIL = re.compile(
    r"([A-Za-z0-9._+-])[A-Za-z0-9._%+-]*(?:@|%40)([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
# Eight digits or more, with the separators people write phone numbers with; ISO dates aside.
_PHONE = re.compile(
    r"(?<![\w.%])(?!\d{4}-\d{2}-\d{2})(?:\+|%2[Bb])?\(?\d(?:(?:[\s().-]|%20){0,3}\d){7,}(?!\w)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]+")
_MIN_SECRET = 4
# Record attributes every LogRecord has; anything else came in through `extra=`.
# (uvicorn's `color_message` is its message again, with terminal colour codes.)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[phone …{digits[-2:]}]"


class Masker:
    """Replaces secrets, bearer tokens, emails and phone numbers in free text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        text = _BEARER.sub(lambda m: f"{m.group(1)} [secret]", text)
        text = _EMAIL.sub(r"\1***@\2", text)
        return _PHONE.sub(_mask_phone, text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


class JsonFormatter(logging.Formatter):
    def __init__(self, mask: Masker) -> None:
        super().__init__()
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": self.mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = self.mask.value(value)
        if record.exc_info:
            entry["exc"] = self.mask(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.mask(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self, mask: Masker) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            text += " " + json.dumps(extras, default=str, ensure_ascii=False)
        return self.mask(text)


def configure_logging(
    *,
    secrets: Iterable[str],
    log_format: str = "json",
    level: str = "INFO",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send every logger's records through one masking handler on the root logger.

    Returns the handler, so a caller (a test) can remove it again.
    """
    mask = Masker(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(mask) if log_format == "json" else TextFormatter(mask))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_gateway", False)]:
        root.removeHandler(old)
    handler._gateway = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own handlers would print around the masking; let its records reach the root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler
