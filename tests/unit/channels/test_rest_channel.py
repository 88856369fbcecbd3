"""ClinicRestInput's request checks (the server-level behaviour is in
tests/integration/test_hardening.py, against the real server)."""

from __future__ import annotations

import json

import pytest

from clinic_assistant.channels.rest import (
    RateLimiter,
    RequestRefused,
    is_loopback,
    parse_body,
    valid_sender,
)


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "JSON object"),
        (b"[]", "JSON object"),
        (b'"hi"', "JSON object"),
        (b"\xff\xfe", "JSON object"),
        (b"{not json", "JSON object"),
        (b'{"message": "hi"}', "'sender' is required"),
        (b'{"sender": null, "message": "hi"}', "'sender' is required"),
        (b'{"sender": "", "message": "hi"}', "'sender' is required"),
        (b'{"sender": 5, "message": "hi"}', "'sender' must be"),
        (json.dumps({"sender": "x" * 10_000, "message": "hi"}).encode(), "'sender' must be"),
        (
            b'{"sender": "web-0123456789abcdef0123456789abcdef", "message": "hi"}',
            "'sender' must be",
        ),
        (b'{"sender": "+15550100199", "message": "hi"}', "'sender' must be"),
        (b'{"sender": "a b", "message": "hi"}', "'sender' must be"),
        (b'{"sender": "me"}', "'message' must be a string"),
        (b'{"sender": "me", "message": null}', "'message' must be a string"),
        (b'{"sender": "me", "message": ["hi"]}', "'message' must be a string"),
        (b'{"sender": "me", "message": 42}', "'message' must be a string"),
    ],
)
def test_malformed_bodies_are_refused_with_a_short_reason(body: bytes, reason: str) -> None:
    with pytest.raises(RequestRefused) as refused:
        parse_body(body)
    assert refused.value.status == 400 and reason in refused.value.reason


def test_a_good_body_keeps_no_client_metadata_or_channel() -> None:
    body = json.dumps(
        {
            "sender": "patient-1",
            "message": "hi",
            "input_channel": "sms",
            "metadata": {"blob": "x" * 100_000},
        }
    ).encode()
    assert parse_body(body) == ("patient-1", "hi", {})


@pytest.mark.parametrize("sender", ["me", "red-1", "a.b@c", "A_9"])
def test_ordinary_sender_ids_are_valid(sender: str) -> None:
    assert valid_sender(sender)


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.9.9.9") and is_loopback("::1")
    assert not is_loopback("192.0.2.2") and not is_loopback("") and not is_loopback("x")


def test_the_rate_limiter_allows_a_minute_s_worth_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(6, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(7)] == [True] * 6 + [False]
    assert limiter.allow("b")  # per address
    now[0] += 10.0  # 6 a minute: one more every 10 s
    assert limiter.allow("a") and not limiter.allow("a")
