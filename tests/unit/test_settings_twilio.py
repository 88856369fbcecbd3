"""The Twilio settings: off by default, complete when on, secrets never in reprs."""

from __future__ import annotations

from typing import Dict

import pytest

from clinic_assistant.settings import SettingsError, load_settings

ON: Dict[str, str] = {
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_NUMBER": "+15550100199",
    "TWILIO_ID_KEY": "k" * 32,
}


def test_off_by_default_with_twilios_own_urls() -> None:
    twilio = load_settings({}).twilio
    assert not twilio.enabled
    assert twilio.webhook_url == "http://localhost:5005/webhooks/twilio/webhook"
    assert twilio.status_url == "http://localhost:5005/webhooks/twilio/status"
    assert twilio.api_base_url == "https://api.twilio.com"


def test_on_with_the_token_and_derived_defaults() -> None:
    settings = load_settings(
        {
            **ON,
            "TWILIO_WEBHOOK_URL": "https://a.example/webhooks/twilio/webhook",
            "CLINIC_NAME": "Lakeside Neurology",
        }
    )
    twilio = settings.twilio
    assert twilio.enabled
    assert twilio.status_url == "https://a.example/webhooks/twilio/status"
    assert twilio.whatsapp_number == "+15550100199"
    assert twilio.clinic_name == "Lakeside Neurology"
    assert load_settings({**ON, "TWILIO_CLINIC_NAME": "the clinic"}).twilio.clinic_name == (
        "the clinic"
    )
    assert "t" * 32 not in repr(settings) and "k" * 32 not in repr(settings)


@pytest.mark.parametrize(
    "override, name",
    [
        ({"TWILIO_ACCOUNT_SID": ""}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "ACxyz"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_NUMBER": "555-0100"}, "TWILIO_NUMBER"),
        ({"TWILIO_WHATSAPP_NUMBER": "whatsapp:+1555"}, "TWILIO_WHATSAPP_NUMBER"),
        ({"TWILIO_ID_KEY": ""}, "TWILIO_ID_KEY"),
        ({"TWILIO_ID_KEY": "short"}, "TWILIO_ID_KEY"),
        ({"TWILIO_WEBHOOK_URL": "ftp://x"}, "TWILIO_WEBHOOK_URL"),
        ({"TWILIO_API_BASE_URL": "api.twilio.com"}, "TWILIO_API_BASE_URL"),
        ({"TWILIO_SEND_ATTEMPTS": "1.5"}, "TWILIO_SEND_ATTEMPTS"),
        ({"TWILIO_SEND_TIMEOUT": "0"}, "TWILIO_SEND_TIMEOUT"),
    ],
)
def test_a_bad_twilio_setting_fails_fast_naming_it(override: Dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**ON, **override})
