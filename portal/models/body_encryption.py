"""Message bodies at rest: AES-256-GCM under keys from configuration.

A stored body is base64 of a random 96-bit nonce followed by the ciphertext
and its tag; the row's `body_key_id` names the key. The key id is
authenticated data, so a ciphertext relabelled with another key id fails
rather than decrypting. (The message id is not bound in: it does not exist
until the row is inserted, and encrypting after the insert would mean a
second write for every message.)

`MESSAGE_KEYS` lists every key that may still be in use, as
`id:base64-of-32-bytes` pairs separated by commas; `MESSAGE_KEY_ID` names the
one new bodies are written under. Development and test also hold a key
derived from SECRET_KEY (id `secret-key`), current unless MESSAGE_KEY_ID
says otherwise, so they run without setting anything; production must be
given its keys.
"""
import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

KEY_BYTES = 32
NONCE_BYTES = 12
DERIVED_KEY_ID = "secret-key"
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_AAD_PREFIX = b"secure-messaging-portal/"
BODY_PURPOSE = b"secure_messages.body"
GENERATE_HINT = ("`python -c 'import base64, secrets; "
                 "print(base64.b64encode(secrets.token_bytes(32)).decode())'`")


class BodyKeyError(RuntimeError):
    """The key configuration is unusable, or a body is under a key it does not hold."""


class BodyDecryptionError(RuntimeError):
    """A stored body failed authentication: it, or its key id, was altered."""


@dataclass(frozen=True)
class KeyRing:
    keys: dict  # key id -> 32 key bytes
    current_id: str

    @classmethod
    def from_config(cls, config):
        """The ring the settings describe; raises BodyKeyError naming what is wrong."""
        keys = parse_keys(config.get("MESSAGE_KEYS") or "")
        current_id = config.get("MESSAGE_KEY_ID") or None
        if config.get("MESSAGE_KEY_FROM_SECRET_KEY") and config.get("SECRET_KEY"):
            keys.setdefault(DERIVED_KEY_ID, _derived_key(config["SECRET_KEY"]))
            current_id = current_id or DERIVED_KEY_ID
        if not keys:
            raise BodyKeyError(
                "MESSAGE_KEYS is not set. Message bodies are encrypted at rest: set "
                "MESSAGE_KEYS to id:key pairs (for example `k1:<key>`, the key made by "
                f"{GENERATE_HINT}) and MESSAGE_KEY_ID to the id new bodies use (k1).")
        if current_id is None:
            raise BodyKeyError("MESSAGE_KEY_ID is not set: name the key from MESSAGE_KEYS "
                               "that new message bodies are encrypted under.")
        if current_id not in keys:
            raise BodyKeyError(f"MESSAGE_KEY_ID {current_id!r} is not one of the keys in "
                               f"MESSAGE_KEYS ({', '.join(sorted(keys))}).")
        return cls(keys=keys, current_id=current_id)

    def encrypt(self, plaintext, purpose=BODY_PURPOSE):
        """(key id, stored text) for a body, under the current key.

        `purpose` names what the text is (and, for outbox emails, what it is
        bound to); it is authenticated, so a ciphertext copied to another
        column or row fails rather than decrypting there.
        """
        if not isinstance(plaintext, str):
            raise TypeError("a message body is text")
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(
            nonce, plaintext.encode("utf-8"), _aad(self.current_id, purpose))
        return self.current_id, base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, key_id, stored, where="a message body", purpose=BODY_PURPOSE):
        key = self.keys.get(key_id)
        if key is None:
            raise BodyKeyError(f"{where} is encrypted under key {key_id!r}, which is not in "
                               "MESSAGE_KEYS: add that key back to read it.")
        try:
            raw = base64.b64decode(stored, validate=True)
            plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                         _aad(key_id, purpose))
        except (InvalidTag, binascii.Error, ValueError):
            raise BodyDecryptionError(
                f"{where} failed authentication under key {key_id!r}: the stored ciphertext "
                "or its key id was altered, or that key id names a different key "
                "than the one it was encrypted with.") from None
        return plaintext.decode("utf-8")


def parse_keys(setting):
    """{id: key bytes} from `id:base64,id:base64`; raises BodyKeyError."""
    keys = {}
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        key_id, separator, encoded = (s.strip() for s in entry.partition(":"))
        if not separator or not _KEY_ID.fullmatch(key_id):
            raise BodyKeyError("MESSAGE_KEYS entries are id:base64-key, with an id of letters, "
                               f"digits, '.', '_' or '-' (found {entry[:20]!r}...).")
        if key_id in keys:
            raise BodyKeyError(f"MESSAGE_KEYS names key {key_id!r} twice.")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if len(key) != KEY_BYTES:
            raise BodyKeyError(f"MESSAGE_KEYS key {key_id!r} is not {KEY_BYTES} bytes in "
                               f"base64; make one with {GENERATE_HINT}.")
        keys[key_id] = key
    return keys


def key_ring():
    """The running app's key ring (parsed once per distinct configuration)."""
    config = current_app.config
    return _ring_for(config.get("MESSAGE_KEYS"), config.get("MESSAGE_KEY_ID"),
                     bool(config.get("MESSAGE_KEY_FROM_SECRET_KEY")),
                     config.get("SECRET_KEY"))


@functools.lru_cache(maxsize=8)
def _ring_for(keys, current_id, from_secret_key, secret_key):
    return KeyRing.from_config({"MESSAGE_KEYS": keys, "MESSAGE_KEY_ID": current_id,
                                "MESSAGE_KEY_FROM_SECRET_KEY": from_secret_key,
                                "SECRET_KEY": secret_key})


def _derived_key(secret_key):
    return hmac.new(secret_key.encode(), b"secure-messaging-portal message bodies",
                    hashlib.sha256).digest()


def _aad(key_id, purpose):
    return _AAD_PREFIX + purpose + b"/" + key_id.encode("ascii")
