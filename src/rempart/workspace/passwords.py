"""Password hashing (argon2id) and the rule that refuses weak passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from rempart.workspace._errors import WeakPassword

MIN_LENGTH = 12
#: Passwords seen first in every leaked list; the length rule already stops most others.
COMMON = frozenset(
    {
        "motdepasse123", "password1234", "azertyuiop123", "123456789012", "qwertyuiop123",
        "administrateur", "administrator", "changeme1234", "bienvenue123", "welcome12345",
        "mairie123456", "soleil123456",
    }
)  # fmt: skip

# argon2-cffi's default type is argon2id (RFC 9106 low-memory profile: t=3, 64 MiB).
_hasher = PasswordHasher()


def check_strength(password: str, email: str = "") -> None:
    """Refuse empty, short, common or guessable passwords.

    Raises:
        WeakPassword: with what to change.
    """
    if not password:
        raise WeakPassword("the password is empty")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    low = password.lower()
    if low in COMMON:
        raise WeakPassword("this password is in every attacker's list")
    if len(set(password)) < 6:
        raise WeakPassword("the password repeats too few different characters")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in low:
        # the part before the @ is what people put in a password (their name), not the domain
        raise WeakPassword(
            f"the password must not contain the name of the e-mail address ({local})"
        )
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    # A long passphrase of plain words is fine; a short one needs some variety.
    if len(password) < 16 and classes < 3:
        raise WeakPassword(
            "use 16 characters or more, or mix lower case, upper case, digits and symbols"
        )


def configure(*, time_cost: int, memory_cost: int) -> None:
    """Change the argon2id cost (e.g. a small machine; test suites that create many users).

    Hashes made before keep verifying; `needs_rehash` then flags them as different.
    """
    global _hasher  # noqa: PLW0603  # one hasher for the process, like its settings
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)
    _dummy.clear()


_dummy: list[str] = []


def dummy_hash() -> str:
    """A hash of a random password at today's cost, to verify against for unknown users."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_hex(16)))
    return _dummy[0]


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salted; parameters kept in the hash)."""
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    """True when `password` matches `hashed`; False for a wrong password or a damaged hash."""
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(hashed)
