"""Cookies of the web layer and the CSRF token of the sign-in form.

Signed-in browsers hold an opaque session token (`rempart.workspace.auth` keeps its hash and
the session's CSRF token in the store). Before sign-in there is no session, yet the sign-in
form needs CSRF protection too (login CSRF): the browser gets a random nonce cookie and the
form carries an HMAC of it under the store's secret, which a third-party site can neither
read nor compute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "rempart_session"
NONCE_COOKIE = "rempart_pre"
LANG_COOKIE = "rempart_lang"
#: Name of the store secret the sign-in CSRF tokens are made with (generated on first run).
SECRET_NAME = "web-login-csrf"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_token(secret: str, nonce: str) -> str:
    """The CSRF token of the sign-in form for the browser holding `nonce`."""
    return hmac.new(secret.encode(), b"login\0" + nonce.encode(), hashlib.sha256).hexdigest()


def login_token_ok(secret: str, nonce: str | None, sent: str | None) -> bool:
    if not nonce or not sent or len(nonce) > 100:
        return False
    return hmac.compare_digest(login_token(secret, nonce), sent)
