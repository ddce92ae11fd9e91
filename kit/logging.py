"""Logging set-up. A filter masks anything shaped like a phone number in every record."""

from __future__ import annotations

import logging

from kit.security import mask_phones_in


class PhoneMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(PhoneMaskingFilter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for h in root.handlers:
        if not any(isinstance(f, PhoneMaskingFilter) for f in h.filters):
            h.addFilter(PhoneMaskingFilter())
