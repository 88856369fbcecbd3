"""log_privacy: no patient text or phone number in any log line, exceptions included."""

from __future__ import annotations

import io
import logging
import warnings
from typing import Iterator

import pytest
import structlog

from clinic_assistant import log_privacy

CANARY = "canary-7f3a my throat is closing"


@pytest.fixture()
def captured() -> Iterator[io.StringIO]:
    """A handler on the root logger, as Rasa's basicConfig makes, with structlog set
    up the way rasa.utils.log_utils.configure_structlog does for a log file."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.dev.set_exc_info,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    log_privacy.install()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        structlog.reset_defaults()


def fail_with(text: str) -> None:
    secret_local = text  # noqa: F841 - a frame local, as in Rasa's handlers
    raise ValueError(f"could not parse {text!r}")


def test_structlog_keys_locals_and_exception_messages_are_removed(captured: io.StringIO) -> None:
    log = structlog.get_logger()
    log.error("rest.message.received.failure", text=CANARY, user_text=CANARY)
    try:
        fail_with(CANARY)
    except ValueError:
        log.exception("rest.message.received.failure", text=CANARY)
    out = captured.getvalue()
    assert "rest.message.received.failure" in out and "fail_with" in out
    assert "canary-7f3a" not in out and "ValueError" in out


def test_stdlib_lines_lose_the_text_being_handled(captured: io.StringIO) -> None:
    logger = logging.getLogger("rasa.core.processor")
    with log_privacy.handling(CANARY):
        logger.info(f"Received user message '{CANARY}'")
        logger.info("repr %r", CANARY + "\u200b")
        try:
            fail_with(CANARY)
        except ValueError:
            logger.exception("failed")
    with log_privacy.handling(CANARY + "\u200b"):
        logger.info("repr %r", CANARY + "\u200b")
    out = captured.getvalue()
    assert "canary-7f3a" not in out and out.count(log_privacy.REDACTED) >= 3


def test_phone_numbers_are_removed(captured: io.StringIO) -> None:
    logging.getLogger("x").warning("sms from +15550100199 and (555) 010-0199")
    out = captured.getvalue()
    assert "0100199" not in out and "010-0199" not in out


def test_warnings_go_through_the_filter(captured: io.StringIO) -> None:
    with log_privacy.handling(CANARY):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            # pytest records warnings itself; route them to logging as install() does.
            logging.captureWarnings(False)
            logging.captureWarnings(True)
            warnings.warn(
                f"Failed to parse arguments in line '{CANARY}'", UserWarning, stacklevel=1
            )
    out = captured.getvalue()
    assert "Failed to parse arguments" in out and "canary-7f3a" not in out


def test_short_texts_are_not_hunted() -> None:
    with log_privacy.handling("hi"):
        assert log_privacy.scrub_text("this line") == "this line"
