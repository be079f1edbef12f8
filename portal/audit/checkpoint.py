"""Audit checkpoints: "the chain reached position N with hash H", authenticated.

One record, one canonical form, for every place the end of the chain is vouched
for: the chain head row in the database is sealed with it, and the lines of the
checkpoint file the operator ships elsewhere are the same records. A record is

    {"at": ..., "hash": ..., "key_id": ..., "seq": ..., "v": 1}

serialised as JSON with sorted keys, no spaces, ASCII only (`canonical()`).
Authenticators sit beside those fields, never inside the bytes they cover:
`mac` is an HMAC-SHA256 of the canonical bytes with the audit key; a public
signature (a signed audit export) can later be added as another field over the
very same bytes, so old records stay valid and there is one scheme, not two.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

VERSION = 1
FIELDS = ("at", "hash", "key_id", "seq", "v")
HEX = frozenset("0123456789abcdef")


class CheckpointError(ValueError):
    """A checkpoint line that is not a checkpoint record."""


def key_id(key):
    """Names the audit key without revealing it (a rotated key gets a new id)."""
    return hmac.new(key, b"secure-messaging-portal audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    key_id: str
    mac: str
    # Where it was read from (a line of the checkpoint file), for messages only.
    line: int | None = field(default=None, compare=False)

    @classmethod
    def sealed(cls, key, seq, hash_, at):
        """A new record for position `seq` and hash `hash_`, authenticated with `key`."""
        at = at.astimezone(UTC)
        unsealed = cls(seq=seq, hash=hash_, at=at, key_id=key_id(key), mac="")
        return cls(seq=seq, hash=hash_, at=at, key_id=unsealed.key_id,
                   mac=hmac.new(key, unsealed.canonical(), hashlib.sha256).hexdigest())

    def canonical(self):
        """The bytes every authenticator covers (the record without authenticators)."""
        return json.dumps({"at": _iso(self.at), "hash": self.hash, "key_id": self.key_id,
                           "seq": self.seq, "v": VERSION},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def authentic(self, key):
        expected = hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.mac or "")

    def to_line(self):
        """The record as one line of the checkpoint file."""
        record = json.loads(self.canonical())
        record["mac"] = self.mac
        return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @property
    def where(self):
        return f"checkpoint line {self.line}" if self.line is not None else "the checkpoint"

    def describe(self):
        return f"position {self.seq}, taken {_iso(self.at)}"


def _iso(moment):
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_line(text, line=None):
    """One line of a checkpoint file, or CheckpointError saying what is wrong with it."""
    where = f"line {line}" if line is not None else "the checkpoint"
    try:
        record = json.loads(text)
    except ValueError:
        raise CheckpointError(f"{where} is not JSON") from None
    if not isinstance(record, dict) or not set(FIELDS) <= set(record):
        raise CheckpointError(f"{where} is not a checkpoint record (it needs "
                              f"{', '.join(FIELDS)} and mac)")
    if record["v"] != VERSION:
        raise CheckpointError(f"{where} is checkpoint version {record['v']!r}; "
                              f"this portal reads version {VERSION}")
    seq, hash_, mac = record["seq"], record["hash"], record.get("mac")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise CheckpointError(f"{where} has no valid chain position (seq)")
    if not (isinstance(hash_, str) and len(hash_) == 64 and set(hash_) <= HEX):
        raise CheckpointError(f"{where} has no valid hash")
    if not isinstance(record["key_id"], str) or not isinstance(mac, str):
        raise CheckpointError(f"{where} has no key id or no mac")
    try:
        at = datetime.fromisoformat(record["at"])
    except (TypeError, ValueError):
        raise CheckpointError(f"{where} has no valid time (at)") from None
    if at.tzinfo is None:
        raise CheckpointError(f"{where} has a time without a time zone")
    try:
        at = at.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00: before the calendar begins in UTC
        raise CheckpointError(f"{where} has no valid time (at)") from None
    return Checkpoint(seq=seq, hash=hash_, at=at, key_id=record["key_id"], mac=mac, line=line)


def read_checkpoints(lines):
    """Every record of a checkpoint file (blank lines skipped)."""
    return [parse_line(text, number) for number, text in enumerate(lines, start=1)
            if text.strip()]


def append_checkpoint(path, checkpoint):
    """Add a record to the checkpoint file at `path` in one write, so writers don't interleave."""
    with open(path, "a", encoding="ascii") as file:
        file.write(checkpoint.to_line() + "\n")
