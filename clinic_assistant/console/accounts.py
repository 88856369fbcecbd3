"""Staff accounts: one per person, Argon2id password hashes, lockout, TOTP.

Passwords are hashed with argon2-cffi's ``PasswordHasher`` (Argon2id, its RFC 9106
low-memory profile); a stored hash made with older parameters is upgraded at the next
login. After ``lockout_failures`` wrong passwords in a row an account is locked for
``lockout_minutes``; while locked, even the right password is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from clinic_assistant.console import tables
from clinic_assistant.settings import ConsoleSettings

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
TOTP_ISSUER = "Clinic assistant console"

#: Argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes).
PRODUCTION_HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
_hasher = PRODUCTION_HASHER
_dummy: dict[int, str] = {}


def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases take the same time."""
    key = id(_hasher)
    if key not in _dummy:
        _dummy[key] = _hasher.hash("no such account: equal time for unknown names")
    return _dummy[key]


class AccountError(ValueError):
    """A username, role or password that cannot be used; the message says why."""


@dataclass(frozen=True)
class User:
    """An account as the console sees it (never the hash)."""

    id: int
    username: str
    role: str
    active: bool
    has_totp: bool
    locked_until: Optional[datetime]
    failed_logins: int

    @property
    def is_admin(self) -> bool:
        """Admins manage accounts and read the audit log."""
        return self.role == "admin"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def normalise_username(name: str) -> str:
    """Lowercase and check a username; raises :class:`AccountError`."""
    username = name.strip().lower()
    if not USERNAME.fullmatch(username):
        raise AccountError(
            "a username is 2-64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str, username: str) -> None:
    """Raise :class:`AccountError` for a password too weak to accept."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if password.strip().lower() == username.lower():
        raise AccountError("the password must not be the username")


def _user(row: sa.engine.Row) -> User:  # type: ignore[type-arg]
    return User(
        id=int(row.id),
        username=row.username,
        role=row.role,
        active=bool(row.active),
        has_totp=row.totp_secret is not None,
        locked_until=row.locked_until,
        failed_logins=int(row.failed_logins or 0),
    )


def set_account(
    name: str, password: str, role: Optional[str] = None, *, db_url: Optional[str] = None
) -> tuple[User, bool]:
    """Create the account or reset its password (and role when given).

    A reset also unlocks the account and re-activates it. Returns the user and
    whether it was created.
    """
    username = normalise_username(name)
    if role is not None and role not in tables.ROLES:
        raise AccountError(f"the role must be one of {', '.join(tables.ROLES)}")
    check_password(password, username)
    password_hash = _hasher.hash(password)
    now = _now()
    engine = tables.get_engine(db_url)
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(tables.users).where(tables.users.c.username == username)
        ).first()
        if row is None:
            connection.execute(
                tables.users.insert().values(
                    username=username,
                    role=role or "staff",
                    password_hash=password_hash,
                    failed_logins=0,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            created = True
        else:
            values = {
                "password_hash": password_hash,
                "failed_logins": 0,
                "locked_until": None,
                "active": True,
                "updated_at": now,
            }
            if role is not None:
                values["role"] = role
            connection.execute(
                tables.users.update().where(tables.users.c.id == row.id).values(**values)
            )
            # A new password ends every open session of the account.
            connection.execute(tables.sessions.delete().where(tables.sessions.c.user_id == row.id))
            created = False
        user = connection.execute(
            sa.select(tables.users).where(tables.users.c.username == username)
        ).one()
    return _user(user), created


def get_user(user_id: int, *, db_url: Optional[str] = None) -> Optional[User]:
    """One account by id."""
    with tables.get_engine(db_url).connect() as connection:
        row = connection.execute(
            sa.select(tables.users).where(tables.users.c.id == user_id)
        ).first()
    return _user(row) if row is not None else None


def list_users(*, db_url: Optional[str] = None) -> List[User]:
    """Every account, by name."""
    with tables.get_engine(db_url).connect() as connection:
        rows = connection.execute(sa.select(tables.users).order_by(tables.users.c.username))
        return [_user(row) for row in rows]


def update_user(
    user_id: int,
    *,
    role: Optional[str] = None,
    active: Optional[bool] = None,
    unlock: bool = False,
    clear_totp: bool = False,
    db_url: Optional[str] = None,
) -> bool:
    """Change an account's role, active flag, lock or second factor (admin pages)."""
    values: dict[str, object] = {"updated_at": _now()}
    if role is not None:
        if role not in tables.ROLES:
            raise AccountError(f"the role must be one of {', '.join(tables.ROLES)}")
        values["role"] = role
    if active is not None:
        values["active"] = active
    if unlock:
        values.update(failed_logins=0, locked_until=None)
    if clear_totp:
        values["totp_secret"] = None
    with tables.get_engine(db_url).begin() as connection:
        changed = connection.execute(
            tables.users.update().where(tables.users.c.id == user_id).values(**values)
        ).rowcount
        if active is False or clear_totp:
            connection.execute(tables.sessions.delete().where(tables.sessions.c.user_id == user_id))
    return bool(changed)


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to; ``reason`` is for the audit log, not the page."""

    user: Optional[User]
    reason: str  # "ok", "unknown", "wrong_password", "locked", "inactive"
    locked_now: bool = False


def authenticate(
    name: str, password: str, settings: ConsoleSettings, *, db_url: Optional[str] = None
) -> LoginResult:
    """Check a username and password, counting failures toward the lockout."""
    try:
        username = normalise_username(name)
    except AccountError:
        username = ""
    now = _now()
    engine = tables.get_engine(db_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(tables.users).where(tables.users.c.username == username)
        ).first()
    if row is None:
        try:
            _hasher.verify(_dummy_hash(), password[:MAX_PASSWORD_CHARS])
        except VerificationError:
            pass
        return LoginResult(None, "unknown")
    user = _user(row)
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(user, "locked")
    try:
        _hasher.verify(row.password_hash, password[:MAX_PASSWORD_CHARS])
    except (VerificationError, InvalidHashError):
        locked = _count_failure(user, settings, db_url)
        return LoginResult(user, "wrong_password", locked_now=locked)
    if not user.active:
        return LoginResult(user, "inactive")
    values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    with engine.begin() as connection:
        connection.execute(
            tables.users.update().where(tables.users.c.id == user.id).values(**values)
        )
    return LoginResult(_user_by_id(user.id, db_url), "ok")


def _count_failure(user: User, settings: ConsoleSettings, db_url: Optional[str]) -> bool:
    """One more failure in a row (password or TOTP code); True when it locks the account."""
    failures = user.failed_logins + 1
    locked = failures >= settings.lockout_failures
    values: dict[str, object] = {"failed_logins": 0 if locked else failures}
    if locked:
        values["locked_until"] = _now() + timedelta(minutes=settings.lockout_minutes)
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.users.update().where(tables.users.c.id == user.id).values(**values)
        )
    return locked


def _user_by_id(user_id: int, db_url: Optional[str]) -> User:
    user = get_user(user_id, db_url=db_url)
    if user is None:  # pragma: no cover - deleted between two statements
        raise AccountError("the account no longer exists")
    return user


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, username: str) -> str:
    """The otpauth:// URI authenticator apps read."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def totp_matches(secret: str, code: str) -> bool:
    """True when ``code`` is the current code (or the one just before or after)."""
    digits = re.sub(r"\s", "", code)
    return bool(re.fullmatch(r"\d{6}", digits)) and pyotp.TOTP(secret).verify(
        digits, valid_window=1
    )


def enable_totp(user_id: int, secret: str, *, db_url: Optional[str] = None) -> None:
    """Store the account's TOTP secret once its first code was checked."""
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.users.update()
            .where(tables.users.c.id == user_id)
            .values(totp_secret=secret, updated_at=_now())
        )


def check_totp(
    user_id: int, code: str, settings: ConsoleSettings, *, db_url: Optional[str] = None
) -> LoginResult:
    """The second step of a login: "ok", "wrong_code" or "locked".

    Wrong codes count toward the same lockout as wrong passwords, so the six
    digits cannot be guessed.
    """
    with tables.get_engine(db_url).connect() as connection:
        row = connection.execute(
            sa.select(tables.users).where(tables.users.c.id == user_id)
        ).first()
    if row is None:
        return LoginResult(None, "unknown")
    user = _user(row)
    if user.locked_until is not None and user.locked_until > _now():
        return LoginResult(user, "locked")
    if row.totp_secret is None or not totp_matches(str(row.totp_secret), code):
        locked = _count_failure(user, settings, db_url)
        return LoginResult(user, "wrong_code", locked_now=locked)
    with tables.get_engine(db_url).begin() as connection:
        connection.execute(
            tables.users.update().where(tables.users.c.id == user_id).values(failed_logins=0)
        )
    return LoginResult(user, "ok")
