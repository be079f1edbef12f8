"""Personal notification-link tokens: 256 random bits, only the hash is stored."""
import hashlib
import secrets


def new_link_token():
    token = secrets.token_urlsafe(32)
    return token, link_token_hash(token)


def link_token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()
