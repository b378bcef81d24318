"""Signed checkpoints of chain heads, kept outside the database's write path.

A hash chain shows that nothing *inside* it was changed, but someone with write access to the
database can cut events off its end and lower the case's counters: what is left is a shorter,
valid chain. Following Schneier & Kelsey (1999) and Crosby & Wallach (2009), the heads of the
chains are committed from time to time to a place the database does not control, signed with
a key the database does not hold. A checkpoint lists, for every case whose chain moved since
the last one, its id, report number, last sequence number and last hash; it names the
previous checkpoint's digest (the checkpoints form their own chain) and is signed with
Ed25519. ``mediation audit verify`` then requires every chain to still contain every head
ever checkpointed for it.

Where things are (see docs/audit.md):

- checkpoints: ``MEDIATION_AUDIT_DIR``, default ``<instance>/audit/checkpoints``: one JSON file
  each, ``checkpoint-000001.json``, never rewritten;
- the signing key: ``MEDIATION_AUDIT_KEY`` (the base64 of a 32-byte Ed25519 private key), else
  the file ``MEDIATION_AUDIT_KEY_FILE``, default ``<instance>/audit/checkpoint.key`` (made on
  first use, mode 600). Never in the database;
- verification needs only the public key: derived from the private key where it is, else
  ``MEDIATION_AUDIT_PUBLIC_KEY`` (base64) for an archive that holds no private key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from mediation.timeutil import iso, utcnow
from mediation.workflow.models import Event

FORMAT = 1
_NAME = "checkpoint-{:06d}.json"


class CheckpointError(Exception):
    """Checkpoints cannot be written (no key, no folder)."""


# The cases whose chains are checkpointed: (id, ref, version, head) of each.
Heads = Callable[[Session], Iterable[tuple[int, str, int, str | None]]]


@dataclass(frozen=True)
class Head:
    """A chain head as a checkpoint recorded it."""

    case_id: int
    report_no: str
    seq: int
    hash: str
    checkpoint: int


@dataclass
class Ledger:
    """Every checkpoint read back: the heads by case, and what is wrong with the files."""

    heads: dict[int, list[Head]] = field(default_factory=dict)
    count: int = 0
    problems: list[str] = field(default_factory=list)
    last_digest: str = ""

    def latest(self) -> dict[int, Head]:
        """The last head recorded for each case."""
        return {cid: heads[-1] for cid, heads in self.heads.items()}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Checkpoints:
    """The checkpoint folder of an instance and the key that signs it."""

    def __init__(self, directory: Path, *, private_key: Ed25519PrivateKey | None = None,
                 public_key: Ed25519PublicKey | None = None, key_file: Path | None = None,
                 heads: Heads | None = None):
        self.directory = directory
        # (case id, ref, version, head) of every case (the application's
        # CaseLayer.heads); needed to write, not to read.
        self.heads = heads
        self._private = private_key
        self._public = public_key or (private_key.public_key() if private_key else None)
        self.key_file = key_file

    @classmethod
    def for_instance(cls, instance: Path, env: dict[str, str] | None = None,
                     heads: Heads | None = None) -> Checkpoints:
        """The checkpoints of ``instance``, with the key the environment gives (see the
        module's docstring); the key file is read when it exists, made on first write.
        ``heads`` lists the cases (to write checkpoints)."""
        env = dict(os.environ if env is None else env)
        directory = Path(env.get("MEDIATION_AUDIT_DIR") or instance / "audit" / "checkpoints")
        key_file = Path(env.get("MEDIATION_AUDIT_KEY_FILE") or instance / "audit" / "checkpoint.key")
        private = public = None
        if env.get("MEDIATION_AUDIT_KEY"):
            private = Ed25519PrivateKey.from_private_bytes(
                base64.b64decode(env["MEDIATION_AUDIT_KEY"]))
        elif key_file.exists():
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise CheckpointError(f"{key_file} is not an Ed25519 private key")
            private = loaded
        if env.get("MEDIATION_AUDIT_PUBLIC_KEY"):
            public = Ed25519PublicKey.from_public_bytes(
                base64.b64decode(env["MEDIATION_AUDIT_PUBLIC_KEY"]))
        return cls(directory, private_key=private, public_key=public, key_file=key_file,
                   heads=heads)

    # -- the key --------------------------------------------------------------------------------

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._private is None:
            if self.key_file is None:
                raise CheckpointError("no key to sign checkpoints with")
            if self.key_file.exists():
                raise CheckpointError(f"cannot read the checkpoint key {self.key_file}")
            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            self._private, self._public = key, key.public_key()
        return self._private

    def public_key_b64(self) -> str | None:
        """The public key (base64 of its 32 bytes): give it to whoever verifies later."""
        if self._public is None:
            return None
        return _b64(self._public.public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw))

    # -- reading --------------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """The checkpoint files, in order."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("checkpoint-*.json"))

    def read(self) -> Ledger:
        """Read and check every checkpoint: each signed by the key, numbered in order, naming
        the digest of the one before. Problems are listed, never raised."""
        ledger = Ledger()
        prev = ""
        for n, path in enumerate(self.files(), start=1):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                body, signature = doc["body"], base64.b64decode(doc["signature"])
            except (OSError, ValueError, KeyError, TypeError):
                ledger.problems.append(f"{path.name}: not a checkpoint file")
                continue
            if self._public is None:
                ledger.problems.append(f"{path.name}: no key to check its signature with")
            else:
                try:
                    self._public.verify(signature, _canonical(body))
                except InvalidSignature:
                    ledger.problems.append(f"{path.name}: the signature does not verify")
                    continue
            if body.get("n") != n or path.name != _NAME.format(n):
                ledger.problems.append(f"{path.name}: checkpoint {body.get('n')} out of order "
                                       f"(expected {n}: one is missing or was renamed)")
            if body.get("prev", "") != prev:
                ledger.problems.append(f"{path.name}: does not follow the checkpoint before it")
            prev = hashlib.sha256(_canonical(body)).hexdigest()
            for case_id, report_no, seq, digest in body.get("heads", []):
                ledger.heads.setdefault(int(case_id), []).append(
                    Head(int(case_id), str(report_no), int(seq), str(digest), n))
            ledger.count = n
        ledger.last_digest = prev
        return ledger

    # -- writing --------------------------------------------------------------------------------

    def write(self, session: Session, now: datetime | None = None) -> Path | None:
        """Checkpoint the head of every chain that moved since the last checkpoint (all of
        them the first time); None when none moved. The cases come from the ``heads`` this
        store was made with."""
        if self.heads is None:
            raise CheckpointError("these checkpoints were opened to be read, not written")
        key = self._signing_key()
        ledger = self.read()
        latest = ledger.latest()
        moved: list[tuple[int, str]] = []
        for case_id, ref, version, _ in self.heads(session):
            head = latest.get(case_id)
            if head is None or head.seq != version or head.report_no != ref:
                moved.append((case_id, ref))
        if not moved:
            return None
        heads = []
        # The heads as the chains hold them (not as the case rows say: a checkpoint commits
        # to the events themselves).
        for case_id, ref in moved:
            last = session.execute(select(Event.seq, Event.hash).where(Event.case_id == case_id)
                                   .order_by(Event.seq.desc()).limit(1)).first()
            if last is not None:
                heads.append([case_id, ref, last.seq, last.hash])
        n = ledger.count + 1
        body = {"format": FORMAT, "n": n, "prev": ledger.last_digest,
                "at": iso(now or utcnow()), "heads": heads}
        doc = {"body": body, "signature": _b64(key.sign(_canonical(body))),
               "public_key": self.public_key_b64()}
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / _NAME.format(n)
        with open(path, "x", encoding="utf-8") as f:  # never overwrite a checkpoint
            json.dump(doc, f, ensure_ascii=False, indent=1)
        return path


def check_heads(heads: Iterable[Head], report_no: str,
                events: list[Event]) -> list[tuple[str, str, int | None]]:
    """(where, what, seq) for each checkpointed head that the chain no longer holds."""
    by_seq = {e.seq: e.hash for e in events}
    out: list[tuple[str, str, int | None]] = []
    for head in heads:
        where = f"checkpoint {head.checkpoint}"
        if head.report_no != report_no:
            out.append((where, f"checkpoint {head.checkpoint} recorded case {head.case_id} as "
                        f"{head.report_no}, the database has {report_no}", None))
        elif head.seq not in by_seq:
            out.append((where, f"checkpoint {head.checkpoint} recorded event {head.seq}; the "
                        f"chain ends at {len(events)}: events were cut off its end", head.seq))
        elif by_seq[head.seq] != head.hash:
            out.append((where, f"event {head.seq} differs from the one checkpoint "
                        f"{head.checkpoint} recorded: the chain was rewritten", head.seq))
    return out
