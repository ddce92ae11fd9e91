"""Phone numbers stay out of SQL errors, tracebacks and stacks, not only out of log messages."""

from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from kit.db import make_engine
from kit.logging import PhoneMaskingFilter, PhoneMaskingFormatter, configure_logging
from kit.security import mask_phone

PHONE = "+12025550187"
MASKED = mask_phone(PHONE)
INSERT_USER = "INSERT INTO users (id, phone_number) VALUES (gen_random_uuid(), :phone)"


def _clean(text: str) -> bool:
    return PHONE not in text and PHONE[1:] not in text


@pytest.fixture
async def engine(settings):
    engine = make_engine(settings.database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def test_a_failed_insert_of_a_phone_number_does_not_quote_it(engine):
    async with engine.begin() as conn:
        await conn.execute(sa.text(INSERT_USER), {"phone": PHONE})
    with pytest.raises(IntegrityError) as info:
        async with engine.begin() as conn:
            await conn.execute(sa.text(INSERT_USER), {"phone": PHONE})
    assert "hidden due to hide_parameters" in str(info.value)
    assert _clean(str(info.value)) and _clean(str(info.value.orig))


async def test_a_value_the_driver_rejects_is_masked_in_its_own_message(engine):
    # asyncpg quotes the value it could not encode: "invalid input for query argument $1: '+1...'"
    with pytest.raises(DBAPIError) as info:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT CAST(:phone AS integer)"), {"phone": PHONE})
    assert MASKED in str(info.value) and _clean(str(info.value))


def _capture(logger_name: str, formatter: logging.Formatter, *filters: logging.Filter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for f in filters:
        handler.addFilter(f)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    return logger, handler, stream


def test_the_apps_formatter_masks_the_traceback_of_a_logged_exception():
    logger, handler, stream = _capture("test.masking.app", PhoneMaskingFormatter("%(message)s"))
    try:
        try:
            raise ValueError(f"no account for {PHONE}")
        except ValueError:
            logger.exception("login failed")
        logger.warning("where", stack_info=True)  # a stack quotes source lines: +12025550187
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert f"ValueError: no account for {MASKED}" in text and f"source lines: {MASKED}" in text and _clean(text)


def test_a_foreign_formatter_gets_masked_tracebacks_through_the_filter():
    # Ray Serve's and uvicorn's handlers keep their own formatters; the filter renders exc_text first.
    logger, handler, stream = _capture("test.masking.foreign", logging.Formatter("%(message)s"), PhoneMaskingFilter())
    try:
        try:
            raise RuntimeError(f"sms to {PHONE} failed")
        except RuntimeError:
            logger.error("send failed for %s", PHONE, exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert f"send failed for {MASKED}" in text and f"RuntimeError: sms to {MASKED}" in text and _clean(text)


def test_uvicorns_access_log_is_masked_and_still_formats():
    from uvicorn.logging import AccessFormatter

    access = logging.getLogger("uvicorn.access")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    access.addHandler(handler)
    # A uvicorn server started by an earlier test may have disabled or quietened this logger.
    disabled, level = access.disabled, access.level
    access.disabled = False
    try:
        configure_logging("INFO")  # gives the handlers of uvicorn's (and Serve's) loggers the filter
        access.setLevel(logging.INFO)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/lookup?phone={PHONE}", "1.1", 200)
    finally:
        access.removeHandler(handler)
        access.disabled, access.level = disabled, level
    text = stream.getvalue()
    assert f"/lookup?phone={MASKED}" in text and " 200" in text and _clean(text)
