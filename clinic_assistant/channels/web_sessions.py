"""Signed web chat sessions: the server issues them, and accepts only its own.

A web chat's session token is ``<id>.<signature>``: 32 random hex digits and an
HMAC-SHA256 of them under a server-side key (``WEB_SESSION_SECRET``, or a random key
made once in ``.state/web-session.key``, readable by the service only). A client can
therefore not choose its own session (fixation) or guess another's. The
conversation's sender id is ``web-<id>``, without the signature: it is the reference
that appears in the tracker store, escalation records and staff notices, and
knowing it does not give access to the conversation (the token is needed for that).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Optional, Tuple

from clinic_assistant.settings import STATE_DIR, get_settings

#: Prefix of web chat sender ids; no other channel may use it (the REST channel
#: refuses such senders).
SENDER_PREFIX = "web-"
KEY_FILE = "web-session.key"
_TOKEN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{32})")
_SIGNATURE_HEX = 32


@lru_cache(maxsize=1)
def session_key() -> bytes:
    """The signing key: the setting, else the state directory's key file (made once)."""
    secret = get_settings().web_session_secret
    if secret:
        return secret.encode("utf-8")
    return _key_file(STATE_DIR / KEY_FILE)


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def _sign(session: str, key: bytes) -> str:
    digest = hmac.new(key, f"web-session:{session}".encode(), hashlib.sha256).hexdigest()
    return digest[:_SIGNATURE_HEX]


def issue(key: Optional[bytes] = None) -> str:
    """A new session token."""
    session = secrets.token_hex(16)
    return f"{session}.{_sign(session, key or session_key())}"


def new_session() -> Tuple[str, str]:
    """A new session's ``(token, sender id)``."""
    token = issue()
    return token, f"{SENDER_PREFIX}{token.split('.', 1)[0]}"


def sender_of(token: object, key: Optional[bytes] = None) -> Optional[str]:
    """The conversation's sender id for a token this server issued, else None."""
    if not isinstance(token, str):
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    session, signature = match.groups()
    if not hmac.compare_digest(signature, _sign(session, key or session_key())):
        return None
    return f"{SENDER_PREFIX}{session}"
