"""Test RSA key pairs for service-account JWTs, and credentials.json files built from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from responder.config import VoximplantAccount
from responder.secret import Secret

ACCOUNT_ID = 1234567
KEY_ID = "3f6c2a1e-0b9d-4c7e-9a51-6d2b8e4f0c11"
ACCOUNT_EMAIL = "ops@example.com"


@dataclass(frozen=True)
class KeyPair:
    """A PKCS#8 private key PEM and its public key PEM."""

    private_pem: str
    public_pem: str


def _generate() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem, public_pem)


@cache
def key_pair() -> KeyPair:
    """The test session's key pair, generated once."""
    return _generate()


@cache
def other_key_pair() -> KeyPair:
    """A second key pair, for requests signed with the wrong key."""
    return _generate()


def make_account(
    keys: KeyPair | None = None, *, account_id: int = ACCOUNT_ID, key_id: str = KEY_ID
) -> VoximplantAccount:
    """A VoximplantAccount holding *keys* (the session pair by default)."""
    keys = keys or key_pair()
    return VoximplantAccount(account_id, key_id, Secret(keys.private_pem), ACCOUNT_EMAIL)


def write_credentials(
    path: Path,
    keys: KeyPair | None = None,
    *,
    wrapped: bool = False,
    account_id: int = ACCOUNT_ID,
    key_id: str = KEY_ID,
) -> Path:
    """Write a credentials.json, flat as the control panel gives it or under `result`."""
    keys = keys or key_pair()
    fields = {
        "account_id": account_id,
        "key_id": key_id,
        "private_key": keys.private_pem,
        "account_email": ACCOUNT_EMAIL,
    }
    path.write_text(json.dumps({"result": fields} if wrapped else fields), encoding="utf-8")
    return path
