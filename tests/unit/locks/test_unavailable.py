"""The reply a patient gets when the lock store is down."""

from __future__ import annotations

from clinic_assistant.locks.unavailable import unavailable_reply
from clinic_assistant.settings import get_settings


def test_the_reply_says_what_to_do_in_an_emergency_and_how_to_reach_the_clinic() -> None:
    clinic = get_settings().clinic
    text = unavailable_reply()
    assert f"call {clinic.emergency_number} now" in text
    assert clinic.phone in text
    assert "breathing" in text and "swallowing" in text
