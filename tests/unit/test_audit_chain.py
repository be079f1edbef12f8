"""The audit log's hash chain: every kind of tampering is found, and no writer forks it."""
import threading

import pytest
from sqlalchemy import func, select

from portal.audit.chain import verify_chain
from portal.audit.service import record_audit
from portal.extensions import db
from portal.messaging.recall import recall_messages
from portal.models import AuditChainHead, AuditLogEntry, RecallSource
from tests.support.audit_tamper import TAMPERINGS, sql, write_entries
from tests.support.factories import TEST_REQUEST, send


def test_an_untouched_chain_verifies(people):
    write_entries(5)
    message, _ = send(people["alice@example.com"], ["bob@partner.example", "erin@partner.example"])
    recall_messages(people["basic.admin@example.com"], [message.id], source=RecallSource.ADMIN,
                    request_info=TEST_REQUEST)
    report = verify_chain()
    total = db.session.scalar(select(func.count()).select_from(AuditLogEntry))
    assert report.ok and report.checked == total
    head = db.session.get(AuditChainHead, 1)
    assert head.last_seq == total


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_tampering_is_found_and_the_first_bad_entry_named(app, kind):
    write_entries(8)
    assert verify_chain().ok
    bad_id, words = TAMPERINGS[kind]()
    report = verify_chain()
    assert not report.ok
    assert report.entry_id == bad_id
    assert words in report.problem

    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"entry {bad_id}" in result.output and words in result.output


def test_deleting_the_last_entries_is_found(app):
    write_entries(5)
    sql("DELETE FROM audit_log_entries WHERE chain_seq >= 4")
    report = verify_chain()
    assert not report.ok and "last entries" in report.problem


def test_the_verify_command_says_when_all_is_well(app):
    write_entries(3)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Audit chain verified: 3 entries, unbroken." in result.output


def test_a_rolled_back_transaction_leaves_no_gap(app):
    write_entries(2)
    record_audit("Account Logs", "Account - Never Committed", request_info=TEST_REQUEST)
    db.session.rollback()
    write_entries(2, start=2)
    report = verify_chain()
    assert report.ok and report.checked == 4


def test_many_concurrent_writers_leave_one_unbroken_chain(app, people, backend):
    db.session.remove()
    writers, per_writer, errors = 6, 15, []
    start = threading.Barrier(writers)

    def write(n):
        try:
            with app.app_context():
                start.wait()
                for i in range(per_writer):
                    record_audit("Account Logs", "Account - Concurrent", request_info=TEST_REQUEST,
                                 details={"writer": n, "i": i})
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    report = verify_chain()
    assert report.ok
    assert report.checked == db.session.scalar(
        select(func.count()).select_from(AuditLogEntry)) >= writers * per_writer
