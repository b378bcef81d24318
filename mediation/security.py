"""Passwords (argon2id) and personal numbers (encrypted at rest, masked on the way out)."""

from __future__ import annotations

import base64
import functools
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher()  # argon2id with the library's (OWASP-level) defaults


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not tell."""
    return _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    """What is stored for a bearer token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class FieldCipher:
    """Encrypts personal numbers with a key derived from SECRET_KEY (Fernet: AES + HMAC)."""

    def __init__(self, secret_key: str):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mediation-pii",
                   info=b"party-fields").derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, value: str | None) -> str | None:
        """Ciphertext of ``value`` (None and empty stay None)."""
        if not value:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        """The plain value, or None; a token from another key reads as None."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None


def mask_phone(phone: str | None) -> str | None:
    """``13857112345`` → ``138****2345``."""
    if not phone:
        return None
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(number: str | None) -> str | None:
    """``330103195803120027`` → ``3301**********0027``."""
    if not number:
        return None
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
