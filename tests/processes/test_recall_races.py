"""Recall racing readers across OS processes, on the real servers.

Recipients read their messages again and again (the notification link's viewer,
and the Inbox reading pane as htmx loads it) while senders and administrators
recall them, round after round, and both administrators recall the same
messages at the same moment. Each person is an OS process with their own
cookies, signed in through the real form.

Once a recall's reply has reached its client, no request sent afterwards gets
the body; no view is recorded after the recall committed; each message is
recalled and audited exactly once; and no reply or server log shows a 5xx, a
deadlock or a locked database.
"""
import multiprocessing
import queue
import threading
import time
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import select

from portal.audit.chain import verify_chain
from portal.demo.data import DEMO_PASSWORD
from portal.extensions import db
from portal.messaging.recall import AUDIT_TYPES
from portal.models import (
    AccessEvidence,
    AuditLogEntry,
    EvidenceKind,
    RecallSource,
    SecureMessage,
)
from tests.processes import clients
from tests.processes.race import ADMINS, RECIPIENTS, reading_targets, recall_plans

GAP = 0.6  # seconds of reading before each round of recalls
AFTER_LAST_RECALL = 1.0  # seconds of reading after the last recall returned
DEADLINE = 120
CHANNELS = ["direct_link", "inbox"]
# What each kind of request may answer. A recalled message's link answers 410.
EXPECTED_STATUS = {"direct_link": {200, 410}, "inbox": {200}, "sender": {302},
                   "admin": {200}}


def run_race(portal):
    """Starts every client process, lets the rounds run, returns what each recorded."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no state shared
    plans = recall_plans(portal.messages)
    readers = [(email, channel) for email in RECIPIENTS for channel in CHANNELS]
    start = ctx.Barrier(len(readers) + len(plans) + 1)
    rounds = ctx.Barrier(len(plans))
    stop = ctx.Event()
    round_now = ctx.Value("i", -2)  # no round yet: readers pick any message
    out = ctx.Queue()
    base = portal.server.url
    processes = [
        ctx.Process(target=clients.viewer, name=f"{email} {channel}", args=(
            base, email, DEMO_PASSWORD, channel, reading_targets(portal.messages, email),
            start, stop, round_now, out, n))
        for n, (email, channel) in enumerate(readers)
    ] + [
        ctx.Process(target=clients.recaller, name=email, args=(
            base, email, DEMO_PASSWORD, plan, GAP, start, rounds, round_now, n == 0, out))
        for n, (email, plan) in enumerate(plans.items())
    ]
    results = {}

    def collect(count):
        deadline = time.monotonic() + DEADLINE
        while count and time.monotonic() < deadline:
            try:
                result = out.get(timeout=1)
            except queue.Empty:
                continue
            assert "error" not in result, f"{result['who']} failed:\n{result['error']}"
            results[result["who"]] = result
            count -= 1
        assert count == 0, "clients did not finish in time"

    for process in processes:
        process.start()
    try:
        try:
            start.wait(DEADLINE)  # everybody is signed in
        except threading.BrokenBarrierError:
            collect(1)  # the client that broke the barrier says why
            raise
        collect(len(plans))  # every recall has returned
        time.sleep(AFTER_LAST_RECALL)
        stop.set()
        collect(len(readers))
        for process in processes:
            process.join(30)
    finally:
        stop.set()
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(5)
    return results


class Read(NamedTuple):
    message_id: int
    sent: float  # client clock, before the request went out
    received: float  # client clock, once the whole reply was in
    status: int
    body_shown: bool
    recall_notice: bool
    channel: str


class Recall(NamedTuple):
    message_ids: list
    sent: float
    received: float
    status: int
    kind: str  # sender or admin


def recalls_in(results):
    return [Recall(*record, "admin" if who in ADMINS else "sender")
            for who, result in results.items() if "channel" not in result
            for record in result["records"]]


def reads_in(results):
    return [Read(*record, result["channel"]) for result in results.values()
            if "channel" in result for record in result["records"]]


def check_what_clients_saw(reads, recalls, recalled_ids):
    """Returns the reads sent after a recall of their message had answered, and those
    in flight while one was."""
    for recall in recalls:
        assert recall.status in EXPECTED_STATUS[recall.kind], recall
    for read in reads:
        assert read.status in EXPECTED_STATUS[read.channel], read

    # A body never reaches a request sent after a reply to a recall of its message
    # had arrived (whichever recall it was: one that found it recalled answers after
    # the one that recalled it committed).
    answered = {}
    for recall in recalls:
        for message_id in recall.message_ids:
            answered[message_id] = min(recall.received, answered.get(message_id,
                                                                      recall.received))
    assert set(answered) == recalled_ids
    after = [r for r in reads if r.message_id in answered and r.sent > answered[r.message_id]]
    assert [r for r in after if r.body_shown or not r.recall_notice] == []

    # The race happened: bodies shown before, refusals after, on both channels, and
    # reads in flight while a recall of their message was.
    before = [r for r in reads if r.message_id in recalled_ids and r.body_shown]
    for channel in CHANNELS:
        assert any(r.channel == channel for r in after), channel
        assert any(r.channel == channel for r in before), channel
    in_flight = defaultdict(list)
    for recall in recalls:
        for message_id in recall.message_ids:
            in_flight[message_id].append((recall.sent, recall.received))
    during = [r for r in reads if any(r.sent < received and r.received > sent
                                      for sent, received in in_flight[r.message_id])]
    assert during
    never_recalled = [r for r in reads if r.message_id not in recalled_ids]
    assert never_recalled and all(r.body_shown for r in never_recalled)
    return after, during


RECALLED_BY = {"two_admins": {RecallSource.ADMIN},
               "sender_and_admin": {RecallSource.ADMIN, RecallSource.SENDER},
               "alice": {RecallSource.SENDER}, "dave": {RecallSource.SENDER}}


def check_the_database(messages, recalled_ids):
    rows = {m.id: m for m in db.session.scalars(select(SecureMessage).where(
        SecureMessage.id.in_(messages)))}
    assert {i for i, m in rows.items() if m.recalled_at} == recalled_ids

    # Exactly one recall audited per message, by whoever recalled it.
    audited = defaultdict(list)
    for entry in db.session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.type.in_(AUDIT_TYPES.values()))):
        audited[entry.details["message_id"]].append(entry)
    assert {i: len(entries) for i, entries in audited.items()} == dict.fromkeys(recalled_ids, 1)
    for message_id in recalled_ids:
        message, [entry] = rows[message_id], audited[message_id]
        assert message.recall_source in RECALLED_BY[messages[message_id].kind]
        assert entry.type == AUDIT_TYPES[message.recall_source]
        assert entry.occurred_at == message.recalled_at

    # The database's order: every view before the recall, every refusal after it,
    # and read-before-recall on the audit entry as the evidence says.
    evidence = defaultdict(list)
    for row in db.session.execute(
            select(AccessEvidence.delivery_id, AccessEvidence.id, AccessEvidence.kind,
                   AccessEvidence.occurred_at)
            .where(AccessEvidence.kind.in_([EvidenceKind.MESSAGE_VIEWED,
                                            EvidenceKind.ACCESS_REFUSED]))
            .order_by(AccessEvidence.id)):
        evidence[row.delivery_id].append(row)
    for message_id in recalled_ids:
        recalled_at = rows[message_id].recalled_at
        read_before = {r["email"]: r["read_before_recall"]
                       for r in audited[message_id][0].details["recipients"]}
        for email, (delivery_id, _) in messages[message_id].deliveries.items():
            views = [r for r in evidence[delivery_id] if r.kind is EvidenceKind.MESSAGE_VIEWED]
            refusals = [r for r in evidence[delivery_id] if r.kind is EvidenceKind.ACCESS_REFUSED]
            assert all(r.occurred_at <= recalled_at for r in views), (message_id, email)
            assert all(r.occurred_at >= recalled_at for r in refusals), (message_id, email)
            if views and refusals:
                assert views[-1].id < refusals[0].id, (message_id, email)
            assert read_before[email] is bool(views), (message_id, email)

    # Every audit writer lined up: the hash chain has no fork and no gap.
    chain = verify_chain()
    assert chain.ok, chain.problem


def test_recalls_race_readers_across_processes(race_portal):
    portal = race_portal
    started = time.monotonic()
    results = run_race(portal)
    raced_for = time.monotonic() - started
    portal.server.stop()  # its log is complete
    messages = {m.id: m for m in portal.messages}
    recalled_ids = {m.id for m in portal.messages if m.round is not None}
    reads, recalls = reads_in(results), recalls_in(results)

    after, during = check_what_clients_saw(reads, recalls, recalled_ids)
    with portal.app.app_context():
        check_the_database(messages, recalled_ids)
        db.session.remove()

    # The server's own log: no error, no 5xx, no deadlock, no locked database.
    assert portal.server.trouble() == []
    logged = portal.server.request_log()
    assert len(logged) >= len(reads) + len(recalls)
    print(f"\n{portal.server.name} on {portal.backend}: {len(messages)} messages, "
          f"{len(reads)} reads ({len(during)} during and {len(after)} after a recall of "
          f"their message), {len(recalls)} recall requests, {len(logged)} requests in all, "
          f"{raced_for:.1f} s from the first client's start")
