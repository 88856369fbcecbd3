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


# --- Escalation notices and the action server ---------------------------------------
SECRET = "s" * 32


@pytest.mark.parametrize(
    "env, names",
    [
        # A webhook on another host: https only, and signed.
        (
            {
                "ESCALATION_WEBHOOK_URL": "http://hooks.example.org/x",
                "ESCALATION_WEBHOOK_SECRET": SECRET,
            },
            "https://",
        ),
        ({"ESCALATION_WEBHOOK_URL": "https://hooks.example.org/x"}, "ESCALATION_WEBHOOK_SECRET"),
        ({"ESCALATION_WEBHOOK_URL": "https:///no-host"}, "ESCALATION_WEBHOOK_URL"),
        ({"ESCALATION_WEBHOOK_SECRET": "short"}, "ESCALATION_WEBHOOK_SECRET"),
        # Mail: STARTTLS for a remote relay or a login; login needs both halves.
        ({"SMTP_HOST": "mail.example.org", "SMTP_STARTTLS": "false"}, "SMTP_STARTTLS"),
        (
            {"SMTP_USERNAME": "assistant", "SMTP_PASSWORD": "pw", "SMTP_STARTTLS": "no"},
            "SMTP_STARTTLS",
        ),
        ({"SMTP_USERNAME": "assistant"}, "SMTP_USERNAME and SMTP_PASSWORD"),
        ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT"),
        ({"SMTP_CA_FILE": "/nonexistent/ca.pem"}, "SMTP_CA_FILE"),
        ({"ACTION_SERVER_TOKEN": "too-short"}, "ACTION_SERVER_TOKEN"),
        ({"ACTION_SERVER_TOKEN": "has spaces in it, twenty-four+"}, "ACTION_SERVER_TOKEN"),
        (
            {"ESCALATION_MAX_RECORDS_PER_CONVERSATION": "1.5"},
            "ESCALATION_MAX_RECORDS_PER_CONVERSATION",
        ),
        (
            {"ESCALATION_MAX_RECORDS_PER_CONVERSATION": "0"},
            "ESCALATION_MAX_RECORDS_PER_CONVERSATION",
        ),
        ({"ESCALATION_PENDING_STALE_MINUTES": "-5"}, "ESCALATION_PENDING_STALE_MINUTES"),
    ],
)
def test_unsafe_escalation_settings_fail_fast(env: dict, names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        load_settings(env)


@pytest.mark.parametrize(
    "url", ["http://localhost:9000/hook", "http://127.0.0.1/hook", "http://[::1]:8/h"]
)
def test_a_webhook_on_this_machine_may_be_plain_http_and_unsigned(url: str) -> None:
    assert load_settings({"ESCALATION_WEBHOOK_URL": url}).escalation_webhook_url == url


def test_a_remote_https_webhook_with_a_secret_is_accepted() -> None:
    settings = load_settings(
        {
            "ESCALATION_WEBHOOK_URL": "https://hooks.example.org/x",
            "ESCALATION_WEBHOOK_SECRET": SECRET,
        }
    )
    assert settings.escalation_webhook_secret == SECRET


def test_starttls_defaults_on_for_a_remote_relay_only() -> None:
    assert not load_settings({}).smtp_starttls  # localhost
    remote = load_settings(
        {"SMTP_HOST": "mail.example.org", "SMTP_USERNAME": "assistant", "SMTP_PASSWORD": "pw"}
    )
    assert remote.smtp_starttls and remote.smtp_username == "assistant"
    assert load_settings({"SMTP_STARTTLS": "true"}).smtp_starttls


def test_secrets_stay_out_of_reprs_and_limits_have_defaults() -> None:
    settings = load_settings(
        {
            "SMTP_USERNAME": "a",
            "SMTP_PASSWORD": "pw-secret-1",
            "SMTP_STARTTLS": "1",
            "ACTION_SERVER_TOKEN": "t" * 30,
            "ESCALATION_WEBHOOK_SECRET": SECRET,
        }
    )
    for secret in ("pw-secret-1", "t" * 30, SECRET):
        assert secret not in repr(settings)
    assert settings.escalation_max_records_per_conversation == 3
    assert settings.escalation_pending_stale_minutes == 10.0
    assert "export ACTION_SERVER_TOKEN=" + "t" * 30 in settings.shell_exports()
