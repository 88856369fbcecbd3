"""Staff accounts: Argon2id hashes, one account per name, lockout, TOTP."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import Type, extract_parameters

from clinic_assistant.console import accounts, tables
from clinic_assistant.settings import ConsoleSettings

PASSWORD = "correct horse battery"
SETTINGS = ConsoleSettings(lockout_failures=3, lockout_minutes=10)


def _hash(db_url: str, username: str) -> str:
    with tables.get_engine(db_url).connect() as connection:
        return str(
            connection.execute(
                sa.select(tables.users.c.password_hash).where(tables.users.c.username == username)
            ).scalar()
        )


def test_accounts_are_stored_with_argon2id_never_the_password(any_db_url: str) -> None:
    user, created = accounts.set_account("Nurse.Ana", PASSWORD, "staff", db_url=any_db_url)
    assert created and user.username == "nurse.ana" and user.role == "staff"
    stored = _hash(any_db_url, "nurse.ana")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.authenticate("nurse.ana", PASSWORD, SETTINGS, db_url=any_db_url).reason == "ok"


def test_the_same_name_resets_the_password_and_keeps_the_role(db_url: str) -> None:
    accounts.set_account("ana", PASSWORD, "admin", db_url=db_url)
    user, created = accounts.set_account("ANA", "another long secret", None, db_url=db_url)
    assert not created and user.role == "admin"
    assert (
        accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "wrong_password"
    )
    assert (
        accounts.authenticate("ana", "another long secret", SETTINGS, db_url=db_url).reason == "ok"
    )
    assert len(accounts.list_users(db_url=db_url)) == 1


@pytest.mark.parametrize(
    "name, password",
    [("a", PASSWORD), ("has space", PASSWORD), ("ana", "short"), ("ana.lopez", "ana.lopez")],
)
def test_bad_names_and_weak_passwords_are_refused(db_url: str, name: str, password: str) -> None:
    with pytest.raises(accounts.AccountError):
        accounts.set_account(name, password, db_url=db_url)


def test_unknown_role_is_refused(db_url: str) -> None:
    with pytest.raises(accounts.AccountError, match="role"):
        accounts.set_account("ana", PASSWORD, "root", db_url=db_url)


def test_lockout_after_repeated_failures_refuses_even_the_right_password(db_url: str) -> None:
    accounts.set_account("ana", PASSWORD, db_url=db_url)
    results = [
        accounts.authenticate("ana", "wrong guess!", SETTINGS, db_url=db_url) for _ in range(3)
    ]
    assert [r.locked_now for r in results] == [False, False, True]
    assert accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "locked"
    # An admin's reset (bin/staff-user) unlocks it.
    accounts.set_account("ana", PASSWORD, db_url=db_url)
    assert accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "ok"


def test_a_success_clears_the_failure_count(db_url: str) -> None:
    accounts.set_account("ana", PASSWORD, db_url=db_url)
    for _ in range(2):
        accounts.authenticate("ana", "nope nope nope", SETTINGS, db_url=db_url)
    assert accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "ok"
    for _ in range(2):
        accounts.authenticate("ana", "nope nope nope", SETTINGS, db_url=db_url)
    assert accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "ok"


def test_unknown_and_disabled_accounts_do_not_sign_in(db_url: str) -> None:
    assert accounts.authenticate("nobody", PASSWORD, SETTINGS, db_url=db_url).reason == "unknown"
    user, _ = accounts.set_account("ana", PASSWORD, db_url=db_url)
    accounts.update_user(user.id, active=False, db_url=db_url)
    assert accounts.authenticate("ana", PASSWORD, SETTINGS, db_url=db_url).reason == "inactive"


def test_totp_codes_are_checked_and_wrong_ones_count_toward_the_lockout(db_url: str) -> None:
    user, _ = accounts.set_account("ana", PASSWORD, db_url=db_url)
    secret = accounts.new_totp_secret()
    accounts.enable_totp(user.id, secret, db_url=db_url)
    assert accounts.get_user(user.id, db_url=db_url).has_totp  # type: ignore[union-attr]
    code = pyotp.TOTP(secret).now()
    assert accounts.check_totp(user.id, code, SETTINGS, db_url=db_url).reason == "ok"
    wrong = "000000" if code != "000000" else "111111"
    results = [accounts.check_totp(user.id, wrong, SETTINGS, db_url=db_url) for _ in range(3)]
    assert results[-1].locked_now
    assert accounts.check_totp(user.id, code, SETTINGS, db_url=db_url).reason == "locked"
    assert "otpauth://totp/" in accounts.totp_uri(secret, "ana")


def test_production_hashes_use_the_rfc_9106_low_memory_profile() -> None:
    parameters = extract_parameters(accounts.PRODUCTION_HASHER.hash("a long enough secret"))
    assert parameters.type is Type.ID
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (65536, 3, 4)
