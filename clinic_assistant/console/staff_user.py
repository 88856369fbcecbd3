"""``bin/staff-user NAME [--role staff|admin]``: create an account or reset its password.

The password is read from standard input: asked twice (hidden) when it is a
terminal, one line otherwise (``printf '%s\\n' "$PW" | bin/staff-user ana``).
A reset also unlocks the account and ends its open sessions. Audited.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import List, Optional, TextIO

from clinic_assistant.console import accounts, audit, tables
from clinic_assistant.settings import SettingsError, get_settings


def read_password(stream: TextIO, interactive: bool) -> str:
    """The new password from the terminal (twice) or one line of ``stream``."""
    if interactive:
        first = getpass.getpass("New password: ")
        second = getpass.getpass("Same password again: ")
        if first != second:
            raise accounts.AccountError("the two passwords differ")
        return first
    line = stream.readline()
    return line.rstrip("\r\n")


def main(argv: Optional[List[str]] = None, stdin: Optional[TextIO] = None) -> int:
    """Command line entry point; exit status 0 on success, 1 on a refused value."""
    parser = argparse.ArgumentParser(prog="bin/staff-user", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the person's username (one account per person)")
    parser.add_argument(
        "--role",
        choices=tables.ROLES,
        default=None,
        help="default: staff for a new account, unchanged on a reset",
    )
    args = parser.parse_args(argv)
    stream = stdin or sys.stdin
    try:
        db_url = get_settings().db_url
        password = read_password(stream, stream.isatty())
        user, created = accounts.set_account(args.name, password, args.role, db_url=db_url)
    except SettingsError as error:
        print(f"Bad setting: {error}", file=sys.stderr)
        return 2
    except accounts.AccountError as error:
        print(f"Not saved: {error}.", file=sys.stderr)
        return 1
    audit.record(
        "(command line)",
        "user_created" if created else "user_reset",
        target=f"user:{user.username}",
        detail=f"role {user.role}",
        db_url=db_url,
    )
    print(f"{'Created' if created else 'Reset'} {user.username} ({user.role}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
