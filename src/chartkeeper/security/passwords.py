"""Password and client-secret hashing (argon2id) and the password policy.

argon2-cffi's defaults follow RFC 9106's second recommended profile; ``needs_rehash`` lets a
sign-in upgrade an old hash when those parameters change, so nobody has to reset anything.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from chartkeeper.errors import InvalidInput

#: NIST SP 800-63B asks for at least 8 and recommends allowing long passphrases; a records
#: system holding every patient's chart asks for more.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, verified when the account does not exist so that an
    unknown username takes as long to refuse as a wrong password (no enumeration by timing)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def check_policy(password: str) -> None:
    """Raise InvalidInput when ``password`` is too short, too long or blank."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise InvalidInput("a password cannot be only spaces")


def hash_secret(secret: str) -> str:
    """An argon2id PHC string for a password or client secret (salted: same input, new hash)."""
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """True when ``secret`` matches ``stored_hash``. ``None`` (no account) still costs a hash."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), secret) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with parameters other than today's."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    """A random password for bootstrap and resets: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


def generate_client_secret() -> str:
    """A client secret: 32 random bytes, URL-safe (shown once, stored only as a hash)."""
    return secrets.token_urlsafe(32)
