"""The settings module: defaults, environment overrides and failing fast."""

from __future__ import annotations

import pytest

from clinic_assistant.settings import SettingsError, load_settings


def test_defaults_include_911_and_sqlite() -> None:
    settings = load_settings({})
    assert settings.clinic.emergency_number == "911"
    assert settings.db_url.startswith("sqlite:///")
    assert settings.db_dialect == "sqlite"
    assert settings.escalation_webhook_url == ""


def test_environment_overrides_clinic_facts() -> None:
    settings = load_settings(
        {
            "CLINIC_NAME": "Lakeside Neurology",
            "CLINIC_PHONE": "+1 (312) 555-0101",
            "CLINIC_HOURS": "Mon-Thu 9-4",
            "CLINIC_EMERGENCY_NUMBER": "112",
            "ASSISTANT_DB_URL": "postgresql://bot@db/clinic",
        }
    )
    assert settings.clinic.name == "Lakeside Neurology"
    assert settings.clinic.phone == "+1 (312) 555-0101"
    assert settings.clinic.hours == "Mon-Thu 9-4"
    assert settings.clinic.emergency_number == "112"
    assert settings.db_dialect == "postgresql"


def test_blank_values_keep_the_default() -> None:
    assert load_settings({"CLINIC_NAME": "   "}).clinic.name == load_settings({}).clinic.name


@pytest.mark.parametrize(
    "env, names",
    [
        ({"CLINIC_PHONE": "call us"}, "CLINIC_PHONE"),
        ({"CLINIC_EMERGENCY_NUMBER": "nine-one-one"}, "CLINIC_EMERGENCY_NUMBER"),
        ({"ESCALATION_NOTIFY_TIMEOUT": "soon"}, "ESCALATION_NOTIFY_TIMEOUT"),
        ({"ESCALATION_NOTIFY_TIMEOUT": "-1"}, "ESCALATION_NOTIFY_TIMEOUT"),
        ({"ESCALATION_NOTIFY_ATTEMPTS": "2.5"}, "ESCALATION_NOTIFY_ATTEMPTS"),
        ({"ESCALATION_WEBHOOK_URL": "ftp://x"}, "ESCALATION_WEBHOOK_URL"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable(env: dict, names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(env)


def test_shell_exports_feed_endpoints_yml() -> None:
    exports = load_settings({"ASSISTANT_DB_URL": "sqlite:////tmp/x y.db"}).shell_exports()
    assert "export ASSISTANT_DB_URL='sqlite:////tmp/x y.db'" in exports
    assert "export TRACKER_DIALECT=sqlite" in exports
    assert "export ACTION_SERVER_URL=http://localhost:5055/webhook" in exports
