"""Every setting in one place: defaults here, overrides from the environment.

Read once per process with :func:`get_settings`. A bad value fails fast with a
message that names the variable, so a broken deployment never starts half-working.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".state"


class SettingsError(ValueError):
    """A setting from the environment has a value that cannot be used."""


@dataclass(frozen=True)
class ClinicSettings:
    """What patients are told about the clinic; the only place these facts live."""

    name: str = "Dr. Sader's Neurology & Pain Clinic"
    phone: str = "(555) 010-0199"
    hours: str = "Monday to Friday, 8 am to 5 pm"
    emergency_number: str = "911"
    after_hours: str = (
        "Outside office hours, call the clinic's number and follow the prompts "
        "for the on-call doctor."
    )


TWILIO_API = "https://api.twilio.com"
TWILIO_WEBHOOK = "http://localhost:5005/webhooks/twilio/webhook"


@dataclass(frozen=True)
class TwilioSettings:
    """The SMS / WhatsApp channel; enabled only when ``auth_token`` is set."""

    #: Secret: signs Twilio's webhooks and authenticates our REST calls.
    auth_token: str = field(default="", repr=False)
    account_sid: str = ""
    #: The clinic's Twilio number (E.164), and its WhatsApp sender if different.
    number: str = ""
    whatsapp_number: str = ""
    #: The public URLs Twilio calls: the signature is computed over them.
    webhook_url: str = TWILIO_WEBHOOK
    status_url: str = TWILIO_WEBHOOK.rsplit("/", 1)[0] + "/status"
    #: Where the Messages REST API is (tests point it at a local fake).
    api_base_url: str = TWILIO_API
    #: Secret: the key of the keyed hash that turns a phone number into a conversation id.
    id_key: str = field(default="", repr=False)
    #: Seconds one REST call may take, and attempts in all on 429 / 5xx / no connection.
    send_timeout_s: float = 10.0
    send_attempts: int = 4
    #: The clinic's name in texts (may be neutral: texts show on lock screens).
    clinic_name: str = ""

    @property
    def enabled(self) -> bool:
        """True when the channel is configured (TWILIO_AUTH_TOKEN set)."""
        return bool(self.auth_token)


@dataclass(frozen=True)
class ConsoleSettings:
    """The staff console (clinic_assistant.console): its port and safeguards."""

    #: Port of the staff console (http://localhost:8090/).
    port: int = 8090
    #: Minutes without activity after which a staff session is logged off.
    idle_minutes: float = 15.0
    #: When true, every account must set up a TOTP second factor before using the console.
    totp_required: bool = False
    #: Failed logins in a row that lock an account, and for how many minutes.
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    #: Conversations whose last message is older than this many days are deleted by
    #: ``make purge``; 0 keeps everything (the default).
    retention_days: int = 0
    #: Mark cookies Secure (set it when a TLS proxy is in front); https requests always are.
    cookie_secure: bool = False
    #: Key that signs the CSRF cookies; empty: a random key kept in .state/ (mode 0600).
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    """Runtime settings for the Rasa server, the action server and the tools."""

    clinic: ClinicSettings = field(default_factory=ClinicSettings)
    #: SQLAlchemy URL of the database that holds conversations and escalations.
    db_url: str = f"sqlite:///{STATE_DIR / 'assistant.db'}"
    #: Where escalation notices are POSTed (empty: only the database record).
    escalation_webhook_url: str = ""
    #: Where escalation notices are emailed (empty: no email).
    escalation_email_to: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_from: str = "assistant@clinic.invalid"
    #: STARTTLS (certificate verified) before sending; required for a relay that
    #: is not on this machine, and whenever a login is set.
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    #: CA bundle that signs the relay's certificate (empty: the system's).
    smtp_ca_file: str = ""
    #: Key of the HMAC-SHA256 signature on webhook notices (X-Clinic-Signature);
    #: required for a webhook that is not on this machine.
    escalation_webhook_secret: str = field(default="", repr=False)
    #: New escalation records one conversation may start per day; beyond, repeats
    #: are merged into its latest record (never dropped).
    escalation_max_records_per_conversation: int = 3
    #: A notice still "pending" after this many minutes was cut off: staff tools flag it.
    escalation_pending_stale_minutes: float = 10.0
    #: Shared secret Rasa sends the action server (``Authorization: Bearer ...``);
    #: empty: the action server refuses to start (``make run`` makes one per run).
    action_server_token: str = field(default="", repr=False)
    #: Seconds one notification attempt may take, and how many attempts in all.
    notify_timeout_s: float = 5.0
    notify_attempts: int = 3
    #: Interface the servers listen on; 0.0.0.0 only behind a reverse proxy.
    bind_host: str = "127.0.0.1"
    #: Port of the Rasa server (REST, socket.io).
    rasa_port: int = 5005
    #: Port of the action server.
    action_port: int = 5055
    #: Where the Rasa server reaches the action server (default: ACTION_PORT on localhost).
    action_server_url: str = "http://localhost:5055/webhook"
    #: Port of the demo clinic page with the chat widget (clinic_assistant.web.server).
    web_port: int = 8080
    #: Browser origins whose pages may open the socket.io chat; every other Origin
    #: is refused (the stock channel accepts any). Default: the demo page's own.
    web_allowed_origins: tuple[str, ...] = (
        "http://localhost:8080",
        "http://127.0.0.1:8080",
    )
    #: Rasa server URL the widget on the demo page connects to (socket.io; default:
    #: RASA_PORT on localhost).
    web_rasa_url: str = "http://localhost:5005"
    #: Text messaging through Twilio (clinic_assistant.channels.twilio_channel).
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    #: Bearer token the REST channel requires from non-loopback clients (empty:
    #: only loopback clients are served).
    rest_token: str = ""
    #: Messages per minute one non-loopback address may send to the REST channel.
    rest_rate_limit: int = 30
    #: Key that signs web chat session ids (empty: a random key kept in
    #: .state/web-session.key, made on first start).
    web_session_secret: str = ""
    #: Redis for the cluster's conversation locks (clinic_assistant.locks).
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Redis that relays socket.io replies between replicas; empty: one process only.
    socketio_redis_url: str = ""
    #: Seconds a lock lease lasts unless renewed: how long a dead replica's lock stays.
    lock_lease_s: float = 5.0
    #: ``make run-cluster``: Rasa replicas behind HAProxy, the front door's port, the
    #: PostgreSQL database they share.
    replicas: int = 2
    cluster_port: int = 8000
    cluster_db_url: str = "postgresql://postgres@127.0.0.1:5432/test"

    @property
    def db_dialect(self) -> str:
        """The SQL dialect of :attr:`db_url` (``sqlite``, ``postgresql``, ...)."""
        return self.db_url.split(":", 1)[0].split("+", 1)[0]

    def endpoint_env(self) -> dict[str, str]:
        """The ${VAR}s of endpoints.yml and credentials.yml, filled from these settings."""
        return {
            "ASSISTANT_DB_URL": self.db_url,
            "TRACKER_DIALECT": self.db_dialect,
            "ACTION_SERVER_URL": self.action_server_url,
            "ACTION_SERVER_TOKEN": self.action_server_token,
        }

    def server_env(self) -> dict[str, str]:
        """Environment that gives a server started as a child process these settings.

        The child reads its settings from the environment like any process; these are
        the variables that say where the servers are, so parent and child agree.
        """
        return {
            **self.endpoint_env(),
            "BIND_HOST": self.bind_host,
            "RASA_PORT": str(self.rasa_port),
            "ACTION_PORT": str(self.action_port),
            "WEB_PORT": str(self.web_port),
            "STAFF_PORT": str(self.console.port),
            "WEB_RASA_URL": self.web_rasa_url,
            "WEB_ALLOWED_ORIGINS": ",".join(self.web_allowed_origins),
            "REDIS_URL": self.redis_url,
            "SOCKETIO_REDIS_URL": self.socketio_redis_url,
            "LOCK_LEASE_S": str(self.lock_lease_s),
        }

    def shell_exports(self) -> str:
        """``export`` lines for the ${VAR}s in endpoints.yml (used by bin/with-settings)."""
        values = self.endpoint_env()
        return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in values.items())


def _phone_ok(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9+()\-. ]{3,25}", value)) and any(c.isdigit() for c in value)


def _positive_number(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{key} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(f"{key} must be greater than 0, got {raw!r}")
    return value


def is_loopback(host: str) -> bool:
    """True for this machine's own addresses (localhost, 127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secret(env: Mapping[str, str], key: str, minimum: int = 16) -> str:
    value = env.get(key, "").strip()
    if value and (len(value) < minimum or not re.fullmatch(r"[\x21-\x7e]+", value)):
        raise SettingsError(f"{key} must be at least {minimum} printable characters, no spaces")
    return value


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{key} must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _redis_url(env: Mapping[str, str], key: str, default: str) -> str:
    raw = env.get(key, "").strip()
    if raw and not re.match(r"rediss?://", raw):
        raise SettingsError(f"{key} must start with redis:// or rediss://, got {raw!r}")
    return raw or default


def _replica_count(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 32:
        raise SettingsError(f"{key} must be a whole number from 1 to 32, got {raw!r}")
    return int(raw)


def _origins(env: Mapping[str, str], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated ``scheme://host[:port]`` origins, as browsers send them."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    origins = []
    for item in raw.split(","):
        # Browsers never send a trailing slash in Origin; a copied URL often has one.
        origin = item.strip().rstrip("/")
        if not origin:
            continue
        # "*" or an empty list would switch python-engineio's origin check off.
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", origin):
            raise SettingsError(
                f"{key} must list origins like http://localhost:8080 "
                f"(scheme://host[:port], no path, no '*'), got {item.strip()!r}"
            )
        origins.append(origin)
    if not origins:
        raise SettingsError(f"{key} must list at least one origin")
    return tuple(origins)


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{key} must be true or false, got {raw!r}")


def _whole(env: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise SettingsError(f"{key} must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def load_console_settings(env: Mapping[str, str]) -> ConsoleSettings:
    """The staff console's settings (``STAFF_*`` and ``RETENTION_DAYS``)."""
    base = ConsoleSettings()
    return ConsoleSettings(
        port=_port(env, "STAFF_PORT", base.port),
        idle_minutes=_positive_number(env, "STAFF_IDLE_MINUTES", base.idle_minutes),
        totp_required=_flag(env, "STAFF_TOTP_REQUIRED", base.totp_required),
        lockout_failures=_whole(env, "STAFF_LOCKOUT_FAILURES", base.lockout_failures, 1),
        lockout_minutes=_positive_number(env, "STAFF_LOCKOUT_MINUTES", base.lockout_minutes),
        retention_days=_whole(env, "RETENTION_DAYS", base.retention_days, 0),
        cookie_secure=_flag(env, "STAFF_COOKIE_SECURE", base.cookie_secure),
        secret=env.get("STAFF_SECRET", "").strip(),
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from defaults and ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    defaults = ClinicSettings()

    def text(key: str, default: str) -> str:
        value = env.get(key, "").strip()
        return value or default

    clinic = ClinicSettings(
        name=text("CLINIC_NAME", defaults.name),
        phone=text("CLINIC_PHONE", defaults.phone),
        hours=text("CLINIC_HOURS", defaults.hours),
        emergency_number=text("CLINIC_EMERGENCY_NUMBER", defaults.emergency_number),
        after_hours=text("CLINIC_AFTER_HOURS", defaults.after_hours),
    )
    for key, value in (
        ("CLINIC_PHONE", clinic.phone),
        ("CLINIC_EMERGENCY_NUMBER", clinic.emergency_number),
    ):
        if not _phone_ok(value):
            raise SettingsError(f"{key} must be a phone number, got {value!r}")

    base = Settings()
    attempts = _positive_number(env, "ESCALATION_NOTIFY_ATTEMPTS", base.notify_attempts)
    if attempts != int(attempts):
        raise SettingsError("ESCALATION_NOTIFY_ATTEMPTS must be a whole number")
    rasa_port = _port(env, "RASA_PORT", base.rasa_port)
    action_port = _port(env, "ACTION_PORT", base.action_port)
    web_port = _port(env, "WEB_PORT", base.web_port)
    # The URL defaults follow the ports, so moving a server does not lose it.
    web_rasa_url = text("WEB_RASA_URL", f"http://localhost:{rasa_port}").rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", web_rasa_url):
        raise SettingsError(
            f"WEB_RASA_URL must be the Rasa server's origin, like http://localhost:5005, "
            f"got {web_rasa_url!r}"
        )
    twilio = _twilio(env, text, clinic.name, rasa_port)
    rate_limit = _positive_number(env, "REST_RATE_LIMIT", base.rest_rate_limit)
    if rate_limit != int(rate_limit):
        raise SettingsError("REST_RATE_LIMIT must be a whole number of messages per minute")
    session_secret = env.get("WEB_SESSION_SECRET", "").strip()
    if session_secret and len(session_secret) < 32:
        raise SettingsError("WEB_SESSION_SECRET must be at least 32 characters long")
    webhook = text("ESCALATION_WEBHOOK_URL", "")
    webhook_secret = _secret(env, "ESCALATION_WEBHOOK_SECRET")
    if webhook:
        parsed = urlsplit(webhook)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SettingsError("ESCALATION_WEBHOOK_URL must be an http(s):// URL with a host")
        remote = not is_loopback(parsed.hostname)
        if remote and parsed.scheme != "https":
            raise SettingsError(
                "ESCALATION_WEBHOOK_URL must use https:// for a host other than this machine"
            )
        if remote and not webhook_secret:
            raise SettingsError(
                "ESCALATION_WEBHOOK_SECRET must be set to sign notices to a remote webhook"
            )
    smtp_host = text("SMTP_HOST", base.smtp_host)
    smtp_username = text("SMTP_USERNAME", "")
    smtp_password = env.get("SMTP_PASSWORD", "")
    if bool(smtp_username) != bool(smtp_password):
        raise SettingsError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
    smtp_starttls = _flag(env, "SMTP_STARTTLS", not is_loopback(smtp_host))
    if not smtp_starttls and (smtp_username or not is_loopback(smtp_host)):
        raise SettingsError(
            "SMTP_STARTTLS must be true for a mail relay other than this machine or with a login"
        )
    smtp_ca_file = text("SMTP_CA_FILE", "")
    if smtp_ca_file and not Path(smtp_ca_file).is_file():
        raise SettingsError(f"SMTP_CA_FILE must be a readable file, got {smtp_ca_file!r}")
    max_records = _positive_number(
        env, "ESCALATION_MAX_RECORDS_PER_CONVERSATION", base.escalation_max_records_per_conversation
    )
    if max_records != int(max_records):
        raise SettingsError("ESCALATION_MAX_RECORDS_PER_CONVERSATION must be a whole number")
    return Settings(
        clinic=clinic,
        db_url=text("ASSISTANT_DB_URL", base.db_url),
        escalation_webhook_url=webhook,
        escalation_email_to=text("ESCALATION_EMAIL_TO", ""),
        smtp_host=smtp_host,
        smtp_port=_port(env, "SMTP_PORT", base.smtp_port),
        smtp_from=text("SMTP_FROM", base.smtp_from),
        smtp_starttls=smtp_starttls,
        smtp_username=smtp_username,
        smtp_password=smtp_password,
        smtp_ca_file=smtp_ca_file,
        escalation_webhook_secret=webhook_secret,
        escalation_max_records_per_conversation=int(max_records),
        escalation_pending_stale_minutes=_positive_number(
            env, "ESCALATION_PENDING_STALE_MINUTES", base.escalation_pending_stale_minutes
        ),
        action_server_token=_secret(env, "ACTION_SERVER_TOKEN", minimum=24),
        notify_timeout_s=_positive_number(env, "ESCALATION_NOTIFY_TIMEOUT", base.notify_timeout_s),
        notify_attempts=int(attempts),
        action_server_url=text("ACTION_SERVER_URL", f"http://localhost:{action_port}/webhook"),
        bind_host=text("BIND_HOST", base.bind_host),
        rasa_port=rasa_port,
        action_port=action_port,
        web_port=web_port,
        # The default follows WEB_PORT, so moving the page does not lock it out.
        web_allowed_origins=_origins(
            env,
            "WEB_ALLOWED_ORIGINS",
            (f"http://localhost:{web_port}", f"http://127.0.0.1:{web_port}"),
        ),
        web_rasa_url=web_rasa_url,
        twilio=twilio,
        console=load_console_settings(env),
        rest_token=env.get("REST_TOKEN", "").strip(),
        rest_rate_limit=int(rate_limit),
        web_session_secret=session_secret,
        redis_url=_redis_url(env, "REDIS_URL", base.redis_url),
        socketio_redis_url=_redis_url(env, "SOCKETIO_REDIS_URL", ""),
        lock_lease_s=_positive_number(env, "LOCK_LEASE_S", base.lock_lease_s),
        replicas=_replica_count(env, "REPLICAS", base.replicas),
        cluster_port=_port(env, "CLUSTER_PORT", base.cluster_port),
        cluster_db_url=text("CLUSTER_DB_URL", base.cluster_db_url),
    )


def _twilio(
    env: Mapping[str, str], text: Callable[[str, str], str], clinic_name: str, rasa_port: int
) -> TwilioSettings:
    """The Twilio settings; with TWILIO_AUTH_TOKEN set, every other one must be usable."""
    base = TwilioSettings()
    # The default follows RASA_PORT, as WEB_RASA_URL does.
    webhook_url = text(
        "TWILIO_WEBHOOK_URL", f"http://localhost:{rasa_port}/webhooks/twilio/webhook"
    )
    attempts = _positive_number(env, "TWILIO_SEND_ATTEMPTS", base.send_attempts)
    if attempts != int(attempts):
        raise SettingsError("TWILIO_SEND_ATTEMPTS must be a whole number")
    number = text("TWILIO_NUMBER", "")
    settings = TwilioSettings(
        auth_token=text("TWILIO_AUTH_TOKEN", ""),
        account_sid=text("TWILIO_ACCOUNT_SID", ""),
        number=number,
        whatsapp_number=text("TWILIO_WHATSAPP_NUMBER", number),
        webhook_url=webhook_url,
        status_url=text("TWILIO_STATUS_URL", webhook_url.rsplit("/", 1)[0] + "/status"),
        api_base_url=text("TWILIO_API_BASE_URL", base.api_base_url).rstrip("/"),
        id_key=text("TWILIO_ID_KEY", ""),
        send_timeout_s=_positive_number(env, "TWILIO_SEND_TIMEOUT", base.send_timeout_s),
        send_attempts=int(attempts),
        clinic_name=text("TWILIO_CLINIC_NAME", clinic_name),
    )
    for key, url in (
        ("TWILIO_WEBHOOK_URL", settings.webhook_url),
        ("TWILIO_STATUS_URL", settings.status_url),
        ("TWILIO_API_BASE_URL", settings.api_base_url),
    ):
        if not re.match(r"https?://[^/\s]+", url):
            raise SettingsError(f"{key} must be an http(s) URL, got {url!r}")
    if not settings.enabled:
        return settings
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", settings.account_sid):
        raise SettingsError("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits")
    for key, value in (
        ("TWILIO_NUMBER", settings.number),
        ("TWILIO_WHATSAPP_NUMBER", settings.whatsapp_number),
    ):
        if not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):
            raise SettingsError(f"{key} must be an E.164 number like +15550100199, got {value!r}")
    if len(settings.id_key) < 32:
        # A short key would let anyone who guesses it turn ids back into numbers.
        raise SettingsError(
            "TWILIO_ID_KEY must be a random secret of at least 32 characters "
            "(e.g. `openssl rand -hex 32`)"
        )
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return load_settings()


if __name__ == "__main__":
    # `python -m clinic_assistant.settings`: check the settings, print the exports.
    try:
        print(load_settings().shell_exports())
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        sys.exit(2)
