"""The audit log's hash chain: every kind of tampering is found, and no writer forks it."""
import json
import threading

import pytest
from sqlalchemy import func, select

from portal.audit.chain import chain_key, verify_chain
from portal.audit.checkpoint import Checkpoint, append_checkpoint, read_checkpoints
from portal.audit.service import record_audit
from portal.extensions import db
from portal.messaging.recall import recall_messages
from portal.models import AuditChainHead, AuditLogEntry, RecallSource
from tests.support.audit_tamper import (
    TAMPERINGS,
    copy_of_head,
    entry_at,
    sql,
    tamper_replay_head,
    tamper_truncate,
    write_entries,
)
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
        except Exception as error:
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


# -- the end of the chain: a sealed head, and checkpoints kept elsewhere ------------------

def verify_command(app, *args):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def checkpoint_command(app, path):
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--to", str(path)])
    assert result.exit_code == 0, result.output
    return result


def test_cutting_off_the_newest_entries_and_rolling_the_head_back_is_found(app):
    write_entries(8)
    tamper_truncate(keep=5)
    report = verify_chain()
    assert not report.ok and report.checked == 5
    assert "the chain head's seal does not match" in report.problem
    assert "newest entries may have been deleted" in report.problem
    result = verify_command(app)
    assert result.exit_code == 1
    assert "Audit chain BROKEN after 5 good entries: the chain head's seal does not match" \
        in result.output


def test_entries_written_after_the_cut_do_not_make_it_whole_again(app, tmp_path):
    """The portal keeps logging, but never seals a head whose seal did not check out."""
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    app.config.update(AUDIT_CHECKPOINT_PATH=str(checkpoints), AUDIT_CHECKPOINT_EVERY=1)
    write_entries(8)
    checkpoints.unlink()
    tamper_truncate(keep=5)
    write_entries(4, start=100)
    report = verify_chain()
    assert not report.ok and report.checked == 9
    assert "seal does not match" in report.problem and "it now says position 9" in report.problem
    assert not checkpoints.exists()  # a broken head is not vouched for elsewhere either


def test_a_deleted_head_is_not_replaced_by_a_sound_one(app):
    write_entries(3)
    sql("DELETE FROM audit_log_entries")
    sql("DELETE FROM audit_chain_head")
    write_entries(2)  # the portal starts a new head, and it says it is not sealed
    report = verify_chain()
    assert not report.ok and "seal does not match" in report.problem


def test_a_head_edited_in_any_way_is_found(app):
    write_entries(3)
    sql("UPDATE audit_chain_head SET seal = :seal WHERE id = 1", seal="0" * 64)
    assert "seal does not match" in verify_chain().problem


def test_a_missing_head_is_found(app):
    write_entries(3)
    sql("DELETE FROM audit_chain_head")
    report = verify_chain()
    assert not report.ok and "the chain head is missing" in report.problem


def test_a_replayed_head_is_found_only_against_a_later_checkpoint(app, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    write_entries(5)
    old_head = copy_of_head()
    write_entries(3, start=5)
    checkpoint_command(app, checkpoints)
    tamper_replay_head(old_head)

    # The seal is genuine: from the database alone this is a shorter, sound chain.
    assert verify_chain().ok and verify_chain().checked == 5
    result = verify_command(app, "--checkpoints", str(checkpoints))
    assert result.exit_code == 1
    assert ("the chain ends at position 5 but checkpoint line 1 shows it reached position 8"
            in result.output)
    assert "the entries after position 5 were deleted" in result.output


def test_truncation_before_and_after_the_checkpoint(app, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    write_entries(4)
    checkpoint_command(app, checkpoints)
    write_entries(4, start=4)
    checkpoint_command(app, checkpoints)
    [first, second] = read_checkpoints(checkpoints.read_text().splitlines())
    assert (first.seq, second.seq) == (4, 8)
    assert first.hash == entry_at(4).entry_hash and second.hash == entry_at(8).entry_hash

    result = verify_command(app, "--checkpoints", str(checkpoints))
    assert result.exit_code == 0, result.output
    assert "It reaches all 2 checkpoint(s)" in result.output
    assert "the newest at position 8" in result.output

    tamper_truncate(keep=6)  # a cut the sealed head shows, and the checkpoint file too
    result = verify_command(app, "--checkpoints", str(checkpoints))
    assert result.exit_code == 1 and "seal does not match" in result.output


def test_a_rewritten_chain_differs_from_the_checkpoint(app, tmp_path):
    """What someone holding the audit key could do: rebuild the chain. A checkpoint
    taken before still shows it (simulated by a checkpoint of another history)."""
    write_entries(5)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    append_checkpoint(checkpoints, Checkpoint.sealed(chain_key(), 3, "a" * 64,
                                                     entry_at(3).occurred_at))
    report = verify_chain(checkpoints=read_checkpoints(checkpoints.read_text().splitlines()))
    assert not report.ok
    assert report.entry_id == entry_at(3).id
    assert f"entry {entry_at(3).id} differs from checkpoint line 1 (position 3" in report.problem
    assert "rewritten" in report.problem


def test_a_forged_checkpoint_is_not_trusted(app, tmp_path):
    write_entries(3)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    checkpoint_command(app, checkpoints)
    record = json.loads(checkpoints.read_text())
    record["seq"] = 99
    checkpoints.write_text(json.dumps(record) + "\n")
    result = verify_command(app, "--checkpoints", str(checkpoints))
    assert result.exit_code == 1
    assert "checkpoint line 1 is not authentic" in result.output


@pytest.mark.parametrize("line,words", [
    ("not json", "line 2 is not JSON"),
    ('{"seq": 1}', "line 2 is not a checkpoint record"),
    ('{"v": 2, "seq": 1, "hash": "x", "at": "", "key_id": "", "mac": ""}',
     "line 2 is checkpoint version 2"),
    ('{"v": 1, "seq": -1, "hash": "x", "at": "", "key_id": "", "mac": ""}',
     "line 2 has no valid chain position"),
    ('{"v": 1, "seq": 1, "hash": "%s", "at": "yesterday", "key_id": "", "mac": ""}' % ("a" * 64),
     "line 2 has no valid time"),
    # Valid ISO times that have no UTC equivalent within the calendar.
    *[(json.dumps({"v": 1, "seq": 1, "hash": "a" * 64, "at": at, "key_id": "k", "mac": "x"}),
       "line 2 has no valid time")
      for at in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")],
])
def test_a_file_that_is_not_checkpoints_is_refused_clearly(app, tmp_path, line, words):
    write_entries(2)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    checkpoint_command(app, checkpoints)
    with checkpoints.open("a") as file:
        file.write(line + "\n")
    result = verify_command(app, "--checkpoints", str(checkpoints))
    assert result.exit_code == 2
    assert words in result.output and "--checkpoints" in result.output


def test_no_checkpoint_is_written_for_a_head_that_does_not_check_out(app, tmp_path):
    write_entries(8)
    tamper_truncate(keep=5)
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--to",
                                                str(checkpoints)])
    assert result.exit_code == 1
    assert "No checkpoint written: the audit chain head's seal does not match" in result.output
    assert not checkpoints.exists()


def test_the_portal_writes_a_checkpoint_every_n_entries(app, people, tmp_path):
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    app.config.update(AUDIT_CHECKPOINT_PATH=str(checkpoints), AUDIT_CHECKPOINT_EVERY=4)
    start = db.session.get(AuditChainHead, 1).last_seq
    write_entries(4 - start % 4 + 5)  # passes two multiples of 4
    record_audit("Account Logs", "Account - Never Committed", request_info=TEST_REQUEST)
    db.session.rollback()  # a rolled-back transaction vouches for nothing
    records = read_checkpoints(checkpoints.read_text().splitlines())
    assert [r.seq % 4 for r in records] == [0, 0] and len({r.seq for r in records}) == 2
    for record in records:
        assert record.hash == entry_at(record.seq).entry_hash
    assert verify_chain(checkpoints=records).ok


def test_a_bulk_recall_seals_the_head_once_for_the_batch(app, people, tmp_path):
    """Bulk recall writes its entries in one statement (COPY / INSERT ... SELECT)."""
    alice, admin = people["alice@example.com"], people["basic.admin@example.com"]
    ids = [send(alice, ["bob@partner.example"], subject=f"Batch {n}")[0].id for n in range(6)]
    checkpoints = tmp_path / "audit-checkpoints.jsonl"
    app.config.update(AUDIT_CHECKPOINT_PATH=str(checkpoints), AUDIT_CHECKPOINT_EVERY=3)
    before = db.session.get(AuditChainHead, 1).last_seq
    recall_messages(admin, ids, source=RecallSource.ADMIN, request_info=TEST_REQUEST)
    db.session.expire_all()
    head = db.session.get(AuditChainHead, 1)
    assert head.last_seq == before + len(ids)
    assert verify_chain().ok
    [record] = read_checkpoints(checkpoints.read_text().splitlines())  # one per batch
    assert (record.seq, record.hash) == (head.last_seq, head.last_hash)
    tamper_truncate(keep=before + 2)
    assert "seal does not match" in verify_chain().problem
