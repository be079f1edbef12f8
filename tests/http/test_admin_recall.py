"""Admin recall in Email Delivery > Secure Messaging: who may, dialog, outcome, audit."""
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.reading import record_view
from portal.messaging.recall import sender_recall
from portal.models import (
    AccountSettings,
    AuditLogEntry,
    Edition,
    RecallSource,
    SecureMessage,
    ViewChannel,
    utcnow,
)
from tests.support.factories import TEST_REQUEST, account_mode, send

SEARCH = "/admin/secure-messaging"
RECALL = "/admin/secure-messaging/recall"
RECALLED_TYPE = "Secure Messaging - Admin Recalled"
REFUSED_TYPE = "Secure Messaging - Admin Recall Refused"
LITE_NOTE = "Admin recall is not available in the Lite edition"
RECALLERS = ["basic.admin@example.com", "full.admin@example.com"]
TICK_BOX = 'name="message_ids"'
RECALL_BUTTON = 'id="recall-button"'


def text_of(fragment):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def outcome_lines(html):
    """The sentences of the outcome dialog that count messages."""
    block = re.search(r'<div role="status" class="recall-outcome">(.*?)</div>', html, re.DOTALL)
    assert block, "no recall outcome in the response"
    return [text_of(p) for p in re.findall(r"<p>(.*?)</p>", block.group(1), re.DOTALL)]


def audit_entries(app, type_):
    with app.app_context():
        entries = db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.type == type_)
                                     .order_by(AuditLogEntry.id)).all()
        rows = [{"category": e.category, "actor_id": e.actor_id, "actor_email": e.actor_email,
                 "details": e.details} for e in entries]
        db.session.remove()
    return rows


def recall_state(app, ids):
    """message id -> (recalled_at, recalled_by email, source, reason)."""
    with app.app_context():
        state = {}
        for message_id in ids:
            m = db.session.get(SecureMessage, message_id)
            state[message_id] = (m.recalled_at, m.recalled_by.email if m.recalled_by else None,
                                 m.recall_source, m.recall_reason)
        db.session.remove()
    return state


def nothing_recalled(app, ids):
    return all(at is None for at, *_ in recall_state(app, ids).values())


def set_edition(app, edition):
    with app.app_context():
        db.session.get(AccountSettings, 1).edition = edition
        db.session.commit()


@pytest.fixture
def two(app, people):
    """Two open messages: "Contract A" to bob (who has read it) and erin; "Contract B" to frank
    with carol in Cc."""
    with app.app_context():
        alice = people["alice@example.com"]
        a, _ = send(alice, ["bob@partner.example", "erin@partner.example"], subject="Contract A",
                    body="BODY-RECALL-A-9931", now=utcnow() - timedelta(hours=2))
        b, _ = send(alice, ["frank@client.example"], cc=["carol@partner.example"],
                    subject="Contract B", body="BODY-RECALL-B-9932",
                    now=utcnow() - timedelta(hours=1))
        bob = a.deliveries[0]
        record_view(bob.recipient, bob, ViewChannel.DIRECT_LINK, read_status_mode=account_mode(),
                    request_info=TEST_REQUEST)
        ids = [a.id, b.id]
        db.session.remove()
    return ids


def post_recall(client, auth, ids, **extra):
    data = {"csrf_token": auth.csrf_token(SEARCH), "message_ids": [str(i) for i in ids], **extra}
    return client.post(RECALL, data=data)


# -- who may recall ---------------------------------------------------------------------

def test_a_read_only_admin_sees_no_tick_boxes_and_no_recall(auth, client, two):
    auth.sign_in("readonly.admin@example.com")
    html = client.get(SEARCH).get_data(as_text=True)
    assert "Contract A" in html and "Contract B" in html
    assert TICK_BOX not in html and RECALL_BUTTON not in html
    assert ">Recall</button>" not in html
    assert LITE_NOTE not in html


@pytest.mark.parametrize("email", RECALLERS)
def test_basic_and_full_admins_see_tick_boxes_and_recall(auth, client, two, email):
    auth.sign_in(email)
    html = client.get(SEARCH).get_data(as_text=True)
    for message_id in two:
        assert f'<input type="checkbox" name="message_ids" value="{message_id}"' in html
    assert RECALL_BUTTON in html and ">Recall</button>" in html
    assert LITE_NOTE not in html


def test_a_read_only_admin_is_refused_recall_and_the_refusal_is_audited(app, auth, client, two):
    auth.sign_in("readonly.admin@example.com")
    response = post_recall(client, auth, two)
    assert response.status_code == 403
    assert "Recall 2 messages?" not in response.get_data(as_text=True)
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []
    [refusal] = audit_entries(app, REFUSED_TYPE)
    assert refusal["category"] == "Secure Messaging Logs"
    assert refusal["actor_email"] == "readonly.admin@example.com"
    assert sorted(int(i) for i in refusal["details"]["message_ids"]) == sorted(two)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_refused_confirmation_from_a_link_is_refused_without_writing(app, auth, client, two,
                                                                       method):
    """A link anyone can craft (GET) opens the confirmation: refusing it records nothing
    in the admin's name; only a refused recall (POST, with the CSRF token) is audited."""
    auth.sign_in("readonly.admin@example.com")
    response = client.open(RECALL, method=method, query_string={"message_ids": two})
    assert response.status_code == 403
    if method == "GET":
        html = response.get_data(as_text=True)
        assert "Recall 2 messages?" not in html
    assert nothing_recalled(app, two)
    assert audit_entries(app, REFUSED_TYPE) == []
    assert audit_entries(app, RECALLED_TYPE) == []


@pytest.mark.parametrize("email", RECALLERS)
def test_in_the_lite_edition_no_admin_sees_recall(app, auth, client, two, email):
    set_edition(app, Edition.LITE)
    auth.sign_in(email)
    html = client.get(SEARCH).get_data(as_text=True)
    assert "Contract A" in html
    assert LITE_NOTE in html
    assert TICK_BOX not in html and RECALL_BUTTON not in html


@pytest.mark.parametrize("email", RECALLERS)
def test_in_the_lite_edition_an_admin_recall_is_refused_and_audited(app, auth, client, two,
                                                                    email):
    set_edition(app, Edition.LITE)
    auth.sign_in(email)
    response = post_recall(client, auth, two, reason="Try anyway")
    assert response.status_code == 403
    assert LITE_NOTE in response.get_data(as_text=True)
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []
    [refusal] = audit_entries(app, REFUSED_TYPE)
    assert refusal["actor_email"] == email
    assert refusal["details"]["why"] == "edition"
    assert sorted(refusal["details"]["message_ids"]) == sorted(two)


@pytest.mark.parametrize("email", RECALLERS)
def test_in_the_lite_edition_the_confirmation_is_refused(app, auth, client, two, email):
    set_edition(app, Edition.LITE)
    auth.sign_in(email)
    response = client.get(RECALL, query_string={"message_ids": two})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert LITE_NOTE in html and "Recall 2 messages?" not in html
    assert nothing_recalled(app, two)
    assert audit_entries(app, REFUSED_TYPE) == []  # a GET writes nothing


# -- the confirmation -------------------------------------------------------------------

@pytest.mark.parametrize("email", RECALLERS)
def test_the_confirmation_names_the_messages_and_asks_for_a_reason(app, auth, client, two,
                                                                   email):
    auth.sign_in(email)
    response = client.get(RECALL, query_string={"message_ids": two})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Recall 2 messages?" in html
    assert "Contract A" in html and "Contract B" in html
    assert "Reason (optional)" in html
    assert re.search(r'<button type="submit"[^>]*>Recall</button>', html)
    for message_id in two:
        assert f'<input type="hidden" name="message_ids" value="{message_id}">' in html
    assert 'name="csrf_token"' in html
    assert nothing_recalled(app, two)  # asking changes nothing
    assert audit_entries(app, RECALLED_TYPE) == []


def test_the_confirmation_for_one_message_says_one(auth, client, two):
    auth.sign_in("basic.admin@example.com")
    html = client.get(RECALL, query_string={"message_ids": two[1]}).get_data(as_text=True)
    assert "Recall 1 message?" in html
    assert "Contract B" in html and "Contract A" not in html


def test_the_confirmation_as_an_htmx_dialog_is_only_the_dialog(auth, client, two):
    auth.sign_in("basic.admin@example.com")
    response = client.get(RECALL, query_string={"message_ids": two},
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and "Recall 2 messages?" in html
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("values", [["abc"], ["1", "x"], ["-1"], ["1.5"], [""]])
def test_the_confirmation_refuses_ids_that_are_not_numbers(auth, client, two, values):
    auth.sign_in("basic.admin@example.com")
    assert client.get(RECALL, query_string={"message_ids": values}).status_code == 400


# -- recalling --------------------------------------------------------------------------

@pytest.mark.parametrize("email", RECALLERS)
def test_recall_recalls_every_ticked_message_at_once_and_audits_each(app, people, auth, client,
                                                                     two, email):
    auth.sign_in(email)
    response = post_recall(client, auth, two, reason="Sent to the wrong client")
    assert response.status_code == 200
    assert outcome_lines(response.get_data(as_text=True)) == ["2 messages recalled."]
    assert response.headers["HX-Trigger"] == "messagesRecalled"

    state = recall_state(app, two)
    moments = {at for at, *_ in state.values()}
    assert len(moments) == 1 and None not in moments  # one recall, one moment
    for _, by, source, reason in state.values():
        assert (by, source, reason) == (email, RecallSource.ADMIN, "Sent to the wrong client")

    entries = audit_entries(app, RECALLED_TYPE)
    assert sorted(e["details"]["message_id"] for e in entries) == sorted(two)
    with app.app_context():
        admin_id = people[email].id
    for entry in entries:
        assert entry["category"] == "Secure Messaging Logs"
        assert (entry["actor_id"], entry["actor_email"]) == (admin_id, email)
        assert entry["details"]["reason"] == "Sent to the wrong client"
        assert entry["details"]["source"] == "admin"
        assert entry["details"]["sender"] == "alice@example.com"
    read = {e["details"]["subject"]: {r["email"]: r["read_before_recall"]
                                      for r in e["details"]["recipients"]} for e in entries}
    assert read == {
        "Contract A": {"bob@partner.example": True, "erin@partner.example": False},
        "Contract B": {"frank@client.example": False, "carol@partner.example": False},
    }


def test_after_a_recall_the_search_shows_recalled(auth, client, two):
    auth.sign_in("basic.admin@example.com")
    post_recall(client, auth, [two[0]])
    html = client.get(SEARCH).get_data(as_text=True)
    row_a = html.split(f'id="message-row-{two[0]}"', 1)[1].split("</tr>", 1)[0]
    row_b = html.split(f'id="message-row-{two[1]}"', 1)[1].split("</tr>", 1)[0]
    assert 'status-recalled">Recalled<' in row_a
    assert 'status-sent">Sent<' in row_b


@pytest.fixture
def mixed(app, people):
    """Messages in each state: open, already recalled (by the sender), already expired."""

    def build(open_=0, recalled=0, expired=0):
        ids = {"open": [], "recalled": [], "expired": []}
        with app.app_context():
            alice = people["alice@example.com"]
            for n in range(open_):
                m, _ = send(alice, ["bob@partner.example"], subject=f"Open {n}")
                ids["open"].append(m.id)
            for n in range(recalled):
                m, _ = send(alice, ["bob@partner.example"], subject=f"Recalled {n}")
                sender_recall(alice, m.id, reason="Sender's own reason",
                              request_info=TEST_REQUEST)
                ids["recalled"].append(m.id)
            for n in range(expired):
                m, _ = send(alice, ["bob@partner.example"], subject=f"Expired {n}",
                            now=utcnow() - timedelta(hours=5), expires_in=timedelta(hours=1))
                ids["expired"].append(m.id)
            db.session.remove()
        return ids

    return build


@pytest.mark.parametrize("open_,recalled,expired,missing,lines", [
    (1, 0, 0, 0, ["1 message recalled."]),
    (2, 1, 0, 0, ["2 messages recalled.", "1 skipped: already recalled."]),
    (2, 0, 1, 0, ["2 messages recalled.", "1 skipped: already expired."]),
    (2, 1, 1, 0, ["2 messages recalled.", "1 skipped: already recalled.",
                  "1 skipped: already expired."]),
    (0, 2, 1, 0, ["0 messages recalled.", "2 skipped: already recalled.",
                  "1 skipped: already expired."]),
    (1, 0, 0, 1, ["1 message recalled.", "1 not found."]),
])
def test_the_outcome_counts_exactly(app, auth, client, mixed, open_, recalled, expired,
                                    missing, lines):
    ids = mixed(open_, recalled, expired)
    before = recall_state(app, ids["recalled"] + ids["expired"])
    auth.sign_in("basic.admin@example.com")
    ticked = ids["open"] + ids["recalled"] + ids["expired"] + [987654 + n for n in range(missing)]
    response = post_recall(client, auth, ticked)
    assert response.status_code == 200
    assert outcome_lines(response.get_data(as_text=True)) == lines
    assert all(at is not None for at, *_ in recall_state(app, ids["open"]).values())
    # Skipped messages are untouched: a recall is final, an expired message stays expired.
    assert recall_state(app, ids["recalled"] + ids["expired"]) == before
    entries = audit_entries(app, RECALLED_TYPE)
    assert sorted(e["details"]["message_id"] for e in entries) == sorted(ids["open"])


@pytest.mark.parametrize("typed,stored", [
    ("  Wrong attachment  ", "Wrong attachment"),
    ("", None),
    ("   ", None),
    ("x" * 600, "x" * 500),
])
def test_the_reason_is_optional_trimmed_and_bounded(app, auth, client, two, typed, stored):
    auth.sign_in("basic.admin@example.com")
    response = post_recall(client, auth, [two[0]], reason=typed)
    assert outcome_lines(response.get_data(as_text=True)) == ["1 message recalled."]
    assert recall_state(app, [two[0]])[two[0]][3] == stored
    [entry] = audit_entries(app, RECALLED_TYPE)
    assert entry["details"]["reason"] == stored


def test_recall_without_a_reason_field_at_all(app, auth, client, two):
    auth.sign_in("basic.admin@example.com")
    response = client.post(RECALL, data={"csrf_token": auth.csrf_token(SEARCH),
                                         "message_ids": [str(i) for i in two]})
    assert outcome_lines(response.get_data(as_text=True)) == ["2 messages recalled."]


@pytest.mark.parametrize("values", [["abc"], [None, "abc"], ["-1"], ["1.5"], ["1e3"], [""]])
def test_ids_that_are_not_numbers_answer_400_and_change_nothing(app, auth, client, two, values):
    auth.sign_in("basic.admin@example.com")
    values = [str(two[0]) if v is None else v for v in values]
    response = client.post(RECALL, data={"csrf_token": auth.csrf_token(SEARCH),
                                         "message_ids": values})
    assert response.status_code == 400
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []


def test_no_ticked_message_answers_400(app, auth, client, two):
    auth.sign_in("basic.admin@example.com")
    response = client.post(RECALL, data={"csrf_token": auth.csrf_token(SEARCH),
                                         "reason": "Nothing ticked"})
    assert response.status_code == 400
    assert "Tick at least one message to recall." in response.get_data(as_text=True)
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_a_valid_csrf_token_answers_400_and_changes_nothing(app, auth, client,
                                                                          two, token):
    auth.sign_in("basic.admin@example.com")
    data = {"message_ids": [str(i) for i in two]}
    if token is not None:
        data["csrf_token"] = token
    response = client.post(RECALL, data=data)
    assert response.status_code == 400
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []


def test_recall_is_all_or_nothing(app, auth, client, two, monkeypatch):
    import portal.messaging.recall as recall_module

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    auth.sign_in("basic.admin@example.com")
    token = auth.csrf_token(SEARCH)
    monkeypatch.setattr(recall_module, "record_audit_entries", broken)
    response = client.post(RECALL, data={"csrf_token": token,
                                         "message_ids": [str(i) for i in two]})
    assert response.status_code == 500
    assert nothing_recalled(app, two)
    assert audit_entries(app, RECALLED_TYPE) == []
    # Once the fault is gone, the same recall goes through whole.
    monkeypatch.undo()
    response = client.post(RECALL, data={"csrf_token": token,
                                         "message_ids": [str(i) for i in two]})
    assert outcome_lines(response.get_data(as_text=True)) == ["2 messages recalled."]
    assert len(audit_entries(app, RECALLED_TYPE)) == 2


def test_an_htmx_recall_answers_with_the_dialog_and_the_trigger(app, auth, client, two):
    auth.sign_in("full.admin@example.com")
    response = client.post(RECALL, headers={"HX-Request": "true"},
                           data={"csrf_token": auth.csrf_token(SEARCH),
                                 "message_ids": [str(i) for i in two]})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert outcome_lines(html) == ["2 messages recalled."]
    assert response.headers["HX-Trigger"] == "messagesRecalled"
    assert "HX-Request" in response.headers["Vary"]


def test_no_message_body_is_shown_while_recalling(auth, client, two):
    auth.sign_in("basic.admin@example.com")
    pages = [client.get(SEARCH), client.get(RECALL, query_string={"message_ids": two}),
             post_recall(client, auth, two), client.get(SEARCH)]
    for response in pages:
        html = response.get_data(as_text=True)
        assert "BODY-RECALL-A-9931" not in html and "BODY-RECALL-B-9932" not in html


def test_a_message_ticked_twice_is_recalled_once(app, auth, client, two):
    auth.sign_in("basic.admin@example.com")
    twice = [two[0], two[0]]
    html = client.get(RECALL, query_string={"message_ids": twice}).get_data(as_text=True)
    assert "Recall 1 message?" in html
    response = post_recall(client, auth, twice)
    assert outcome_lines(response.get_data(as_text=True)) == ["1 message recalled."]
    assert len(audit_entries(app, RECALLED_TYPE)) == 1
    assert recall_state(app, [two[1]])[two[1]][0] is None
