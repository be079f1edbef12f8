"""Message bodies at rest: ciphertext in the database, plaintext through the model, key rotation."""
import base64
import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

import config
from portal import create_app
from portal.extensions import db
from portal.messaging.responding import respond
from portal.models import SecureMessage
from portal.models.body_encryption import (
    DERIVED_KEY_ID,
    BodyDecryptionError,
    BodyKeyError,
    key_ring,
)
from portal.settings import current_settings
from tests.support.factories import TEST_REQUEST, send

SECRET = "Account 4921-7730, sort code 60-16-13: the settlement figures."


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


def stored_bodies():
    """{message id: (body, body_key_id)} exactly as a database dump would show them."""
    db.session.commit()
    rows = db.session.execute(text("SELECT id, body, body_key_id FROM secure_messages"))
    return {row.id: (row.body, row.body_key_id) for row in rows}


def read_body(message_id):
    db.session.expire_all()
    return db.session.get(SecureMessage, message_id).body


def use_keys(app, current, **keys):
    """Only these keys, as production configures them (no key derived from SECRET_KEY)."""
    app.config.update(MESSAGE_KEYS=",".join(f"{k}:{v}" for k, v in keys.items()),
                      MESSAGE_KEY_ID=current, MESSAGE_KEY_FROM_SECRET_KEY=False)


def test_the_database_holds_only_ciphertext_different_each_time(app, people):
    alice = people["alice@example.com"]
    first, _ = send(alice, ["bob@partner.example"], body=SECRET)
    second, _ = send(alice, ["bob@partner.example"], body=SECRET)

    stored = stored_bodies()
    for body, key_id in stored.values():
        assert key_id == DERIVED_KEY_ID
        for fragment in ("4921-7730", "settlement", SECRET):
            assert fragment not in body
        assert SECRET.encode() not in base64.b64decode(body)
    assert stored[first.id][0] != stored[second.id][0]
    assert read_body(first.id) == SECRET
    assert read_body(second.id) == SECRET


def test_a_tampered_or_relabelled_body_raises_instead_of_reading(app, people):
    message, _ = send(people["alice@example.com"], ["bob@partner.example"], body=SECRET)
    body, key_id = stored_bodies()[message.id]
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    db.session.execute(text("UPDATE secure_messages SET body = :body WHERE id = :id"),
                       {"body": base64.b64encode(bytes(raw)).decode(), "id": message.id})
    db.session.commit()
    with pytest.raises(BodyDecryptionError, match=f"secure message {message.id}"):
        read_body(message.id)

    # The key id is authenticated too: the same key under another id does not decrypt.
    key = base64.b64encode(key_ring().keys[key_id]).decode()
    use_keys(app, "alias", alias=key)
    db.session.execute(text("UPDATE secure_messages SET body = :body, body_key_id = 'alias' "
                            "WHERE id = :id"), {"body": body, "id": message.id})
    db.session.commit()
    with pytest.raises(BodyDecryptionError):
        read_body(message.id)

    db.session.execute(text("UPDATE secure_messages SET body_key_id = 'gone' WHERE id = :id"),
                       {"id": message.id})
    db.session.commit()
    with pytest.raises(BodyKeyError, match="'gone', which is not in MESSAGE_KEYS"):
        read_body(message.id)


def test_rotation_moves_every_body_to_the_new_key_and_the_old_one_can_go(app, people, runner):
    old, new = new_key(), new_key()
    use_keys(app, "k1", k1=old)
    alice, bob = people["alice@example.com"], people["bob@partner.example"]
    original, _ = send(alice, ["bob@partner.example", "erin@partner.example"], body=SECRET,
                       allow_reply=True)
    send(alice, ["frank@client.example"], body="Second message.")
    send(people["dave@example.com"], ["bob@partner.example"], body="Third message.")
    delivery = next(d for d in original.deliveries if d.recipient_id == bob.id)
    reply = respond(bob, delivery, "reply", text="Received, thanks.", settings=current_settings(),
                    request_info=TEST_REQUEST)
    plaintexts = {message_id: read_body(message_id) for message_id in stored_bodies()}
    assert SECRET in plaintexts[reply.id] and "Received, thanks." in plaintexts[reply.id]
    assert {key_id for _, key_id in stored_bodies().values()} == {"k1"}

    # Both keys configured, the new one current: readers keep working throughout.
    use_keys(app, "k2", k1=old, k2=new)
    send(alice, ["bob@partner.example"], body="Sent after the switch.")
    plaintexts = {message_id: read_body(message_id) for message_id in stored_bodies()}
    db.session.remove()
    result = runner.invoke(args=["messages", "re-encrypt", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 4 message bodies under key 'k2'." in result.output
    assert "k1 any more: they can be removed from MESSAGE_KEYS" in result.output
    assert {key_id for _, key_id in stored_bodies().values()} == {"k2"}

    use_keys(app, "k2", k2=new)
    assert {message_id: read_body(message_id) for message_id in stored_bodies()} == plaintexts

    db.session.remove()
    again = runner.invoke(args=["messages", "re-encrypt"])
    assert again.exit_code == 0, again.output
    assert "Re-encrypted 0 message bodies" in again.output


def test_re_encryption_stops_clearly_at_a_body_under_a_key_no_longer_configured(
        app, people, runner):
    use_keys(app, "k1", k1=new_key())
    message_id = send(people["alice@example.com"], ["bob@partner.example"], body=SECRET)[0].id
    use_keys(app, "k2", k2=new_key())
    db.session.remove()
    result = runner.invoke(args=["messages", "re-encrypt"])
    assert result.exit_code == 1
    assert f"secure message {message_id} is encrypted under key 'k1'" in result.output
    assert stored_bodies()[message_id][1] == "k1"


def test_production_refuses_to_start_without_message_keys(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "x" * 64)
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", None)
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEY_ID", None)
    with pytest.raises(config.ConfigError, match="MESSAGE_KEYS is not set"):
        create_app("production")

    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", f"k1:{new_key()}")
    with pytest.raises(config.ConfigError, match="MESSAGE_KEY_ID is not set"):
        create_app("production")
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEY_ID", "k2")
    with pytest.raises(config.ConfigError, match="'k2' is not one of the keys"):
        create_app("production")
    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", "k2:c2hvcnQ=")
    with pytest.raises(config.ConfigError, match="'k2' is not 32 bytes"):
        create_app("production")

    monkeypatch.setattr(config.ProductionConfig, "MESSAGE_KEYS", f"k1:{new_key()},k2:{new_key()}")
    app = create_app("production", overrides={"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["MESSAGE_KEY_ID"] == "k2"


def test_the_migration_encrypts_plaintext_bodies_and_its_downgrade_decrypts_them(
        databases, backend):
    url = databases.fresh_url(backend, "body_encryption")
    app = create_app("test", overrides={"SQLALCHEMY_DATABASE_URI": url})
    at = "2026-01-05 10:00:00.000000" if backend == "sqlite" else "2026-01-05 10:00:00+00"
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, is_internal, time_zone, created_at) "
                "VALUES (1, 'old.sender@example.com', :yes, 'UTC', :at)"), {"yes": True, "at": at})
            for n, body in enumerate([SECRET, "Second, older message."], start=1):
                conn.execute(text(
                    "INSERT INTO secure_messages (id, sender_id, subject, body, sent_at, "
                    "allow_reply, allow_reply_all, allow_forward, allow_print, read_receipt) "
                    "VALUES (:id, 1, 'Before encryption', :body, :at, :no, :no, :no, :no, :no)"),
                    {"id": n, "body": body, "at": at, "no": False})

        upgrade()
        stored = stored_bodies()
        assert {key_id for _, key_id in stored.values()} == {DERIVED_KEY_ID}
        assert all("4921-7730" not in body and "older" not in body
                   for body, _ in stored.values())
        assert read_body(1) == SECRET and read_body(2) == "Second, older message."
        db.session.remove()

        downgrade(revision="0005")
        assert "body_key_id" not in {c["name"] for c in
                                     inspect(db.engine).get_columns("secure_messages")}
        with db.engine.connect() as conn:
            bodies = dict(conn.execute(text("SELECT id, body FROM secure_messages")).all())
        assert bodies == {1: SECRET, 2: "Second, older message."}
        db.session.remove()
        db.engine.dispose()
