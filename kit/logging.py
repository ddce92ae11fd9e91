"""Logging set-up. Anything shaped like a phone number is masked in every record: its message,
its traceback and its stack, whichever formatter writes it (ours, uvicorn's, Ray Serve's)."""

from __future__ import annotations

import logging

from kit.security import mask_phones_in

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that do not propagate to the root (Serve's) or that a server sets up with its own
# handlers (uvicorn's access and error logs): their handlers get the filter as well.
FOREIGN_LOGGERS = ("ray.serve", "uvicorn", "uvicorn.error", "uvicorn.access")


def _masked(value: object) -> object:
    return mask_phones_in(value) if isinstance(value, str) else value


def _is_clean(record: logging.LogRecord) -> bool:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return False
    return mask_phones_in(message) == message


class PhoneMaskingFormatter(logging.Formatter):
    """The app's formatter: tracebacks and stacks quote exception messages and local values."""

    def formatException(self, exc_info) -> str:
        return mask_phones_in(super().formatException(exc_info))

    def formatStack(self, stack_info: str) -> str:
        return mask_phones_in(super().formatStack(stack_info))


class PhoneMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in(message)
        if masked != message:
            # Mask argument by argument where that suffices: uvicorn's access formatter reads
            # record.args as a tuple and would fail on a pre-rendered message.
            if isinstance(record.args, tuple) and isinstance(record.msg, str):
                record.msg, record.args = mask_phones_in(record.msg), tuple(_masked(a) for a in record.args)
            if not _is_clean(record):
                record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters (Ray's included) reuse exc_text when it is set instead of rendering again.
            record.exc_text = PhoneMaskingFormatter().formatException(record.exc_info)
        elif record.exc_text:
            record.exc_text = mask_phones_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_phones_in(record.stack_info)
        return True


def _add_filter(handler: logging.Handler) -> None:
    if not any(isinstance(f, PhoneMaskingFilter) for f in handler.filters):
        handler.addFilter(PhoneMaskingFilter())


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(PhoneMaskingFormatter(FORMAT))
        root.addHandler(stream)
    root.setLevel(level.upper())
    for name in ("", *FOREIGN_LOGGERS):
        for handler in logging.getLogger(name).handlers:
            _add_filter(handler)
