"""Password hashing with scrypt (hashlib, i.e. OpenSSL: no extra package).

Parameters: N=2^15, r=8, p=3, one of OWASP's scrypt settings (32 MiB per
hash, about 0.4 s of one core on the machines this project runs on). 128 MiB
settings would not fit beside the app in the container's 256 MB; the
semaphore below keeps at most HASHES_AT_ONCE hashes (of 32 MiB) per process.

Stored as "scrypt$<N>$<r>$<p>$<salt>$<key>" (base64), so the parameters can
be raised later: a hash made with other parameters is redone at the next
successful sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import unicodedata

N, R, P = 2**15, 8, 3
KEY_BYTES = 32
SALT_BYTES = 16
HASHES_AT_ONCE = 2
# How long a request waits for a hashing slot before it is turned away (503):
# a burst of sign-ins or sign-ups must not hold every request thread.
SLOT_WAIT = 2.0
_slots = threading.BoundedSemaphore(HASHES_AT_ONCE)


class Busy(Exception):
    """Every hashing slot stayed taken for SLOT_WAIT seconds."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # NFKC: the same password typed on another keyboard or system still matches.
    secret = unicodedata.normalize("NFKC", password).encode("utf-8")
    if not _slots.acquire(timeout=SLOT_WAIT):
        raise Busy()
    try:
        # maxmem above 128*r*n (OpenSSL's default limit is exactly 32 MiB).
        return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=2 * 128 * r * n)
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    salt = os.urandom(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_scrypt(password, salt, N, R, P))}"


def verify(password: str, stored: str) -> bool:
    """True when the password matches; False for a wrong one or an unreadable hash."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${N}${R}${P}$")


# Verified against when the account does not exist, so that an unknown name
# costs the same time as a wrong password (no account discovery by timing).
DUMMY_HASH = hash_password(base64.b64encode(os.urandom(18)).decode())
