"""The scenario the processes ring plays: who gets which messages, and who recalls them when."""
import os
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from portal.demo.data import load_demo_data
from portal.extensions import db
from tests.support.factories import send, user_by_email

# PORTAL_RACE_SIZE=n: n times as many rounds of recalls (and messages); default 1.
SIZE = int(os.environ.get("PORTAL_RACE_SIZE", "1"))
ROUNDS = 4 * SIZE
RECIPIENTS = ["bob@partner.example", "erin@partner.example", "frank@client.example"]
RECIPIENT_SETS = [RECIPIENTS, RECIPIENTS[:2], RECIPIENTS[1:], [RECIPIENTS[0], RECIPIENTS[2]]]
ADMIN_BATCH = 3  # messages both administrators recall at once, each round
ADMINS = ["full.admin@example.com", "basic.admin@example.com"]


@dataclass
class Message:
    id: int
    round: int | None  # None: never recalled
    kind: str  # who recalls it: two_admins, sender_and_admin, alice, dave, nobody
    body: str
    deliveries: dict = field(default_factory=dict)  # recipient -> (delivery id, link token)


def prepare_messages(app, backend):
    """The demo accounts, and per round: ADMIN_BATCH messages both administrators will
    recall, one alice and an administrator will recall at once, one alice recalls, one
    dave recalls; and two nobody recalls. All through the sending service."""
    plan = []
    for number in range(ROUNDS):
        plan += [(number, "two_admins", "alice@example.com" if i % 2 == 0 else "dave@example.com")
                 for i in range(ADMIN_BATCH)]
        plan += [(number, "sender_and_admin", "alice@example.com"),
                 (number, "alice", "alice@example.com"), (number, "dave", "dave@example.com")]
    plan += [(None, "nobody", "alice@example.com"), (None, "nobody", "dave@example.com")]
    messages = []
    with app.app_context():
        load_demo_data(message_count=0)
        for n, (number, kind, sender) in enumerate(plan):
            # Distinctive, and plain text: it appears in a page exactly as written.
            body = f"RACE-BODY-{backend}-{n}-{secrets.token_hex(8)}"
            message, tokens = send(user_by_email(sender), RECIPIENT_SETS[n % len(RECIPIENT_SETS)],
                                   subject=f"Race {kind} {n}", body=body,
                                   read_receipt=n % 2 == 0)
            messages.append(Message(message.id, number, kind, body, {
                d.recipient.email: (d.id, tokens[d.id]) for d in message.deliveries}))
        db.session.remove()
    return messages


def recall_plans(messages):
    """Per recaller, per round, what they recall: ("sender", id) or ("admin", [ids])."""
    by_round = defaultdict(lambda: defaultdict(list))
    for m in messages:
        if m.round is not None:
            by_round[m.round][m.kind].append(m.id)
    plans = {email: [] for email in [*ADMINS, "alice@example.com", "dave@example.com"]}
    for number in range(ROUNDS):
        kinds = by_round[number]
        both, contested = kinds["two_admins"], kinds["sender_and_admin"]
        plans["full.admin@example.com"].append([("admin", both + contested)])
        plans["basic.admin@example.com"].append([("admin", both)])
        plans["alice@example.com"].append([("sender", i) for i in contested + kinds["alice"]])
        plans["dave@example.com"].append([("sender", i) for i in kinds["dave"]])
    return plans


def reading_targets(messages, email):
    """(message id, delivery id, link token, body, round) of each message to `email`."""
    return [(m.id, *m.deliveries[email], m.body, m.round) for m in messages
            if email in m.deliveries]
