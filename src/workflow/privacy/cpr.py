"""CPR numbers at rest: encrypted with a key ring, masked for people, revealed only on purpose.

The store holds a young person's CPR number only as a Fernet token (AES-128-CBC with an
HMAC-SHA256, from the ``cryptography`` package). The key ring is a list of keys: the first
encrypts, every key decrypts (:class:`cryptography.fernet.MultiFernet`), so a key is
rotated by putting a new one first, restarting, and re-encrypting the store
(:func:`rotate_store`, ``workflow cpr rotate``) before the old key is removed.

Where the keys come from (:func:`key_ring`): ``WORKFLOW_CPR_KEYS`` (production sets it
from a secret store), else the key file ``cpr.keys`` in ``WORKFLOW_HOME``, created with a
fresh key (mode 0600) on first use for the embedded set-up. Errors name the setting or
the file and never print a key or a CPR number.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError

from workflow.errors import WorkflowError
from workflow.settings import Settings, get_settings
from workflow.store.tables import Guardian, YoungPerson

#: The setting that holds the key ring (named in errors and hints).
KEYS_SETTING = "WORKFLOW_CPR_KEYS"
#: The key file in ``home`` used when the setting is empty (one key per line).
KEY_FILE = "cpr.keys"

_KEY_FILE_HEADER = (
    "# Keys that encrypt CPR numbers (Fernet), one per line: the first encrypts, all decrypt.\n"
    "# Back this file up apart from the database; see docs/operator-guide.md.\n"
)
_MISSING_KEY_HINT = (
    f"if the key was rotated, set {KEYS_SETTING} to the new key followed by the old one "
    f"({KEYS_SETTING}=NEW_KEY,OLD_KEY) and restart; see 'CPR numbers: encryption and key "
    "rotation' in docs/operator-guide.md"
)
# A Fernet token: url-safe base64 of version byte, timestamp, IV, AES blocks and HMAC.
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_TOKEN_VERSION = 0x80
_TOKEN_OVERHEAD = 1 + 8 + 16 + 32


class CprKeyError(WorkflowError):
    """The CPR key ring is unusable, or lacks the key a stored CPR number needs."""


def masked_cpr(cpr: str) -> str:
    """A CPR number as pages show it: the birth date part only (e.g. 010203-xxxx)."""
    digits = cpr.replace("-", "")
    return f"{digits[:6]}-xxxx" if len(digits) >= 6 else "xxxxxx-xxxx"


def _fernet(key: str, where: str) -> Fernet:
    """A Fernet of one key; a malformed key is a located error that never echoes the key."""
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError, binascii.Error):
        raise CprKeyError(
            f"{where}: not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with `workflow cpr new-key`"
        ) from None


class CprCipher:
    """Encrypts CPR numbers for the store and decrypts them for a reveal.

    ``keys`` are url-safe base64 Fernet keys, newest first. Without keys, the process's
    default key ring (:func:`default_key_ring`, read once from the settings) is used, so
    every ``CprCipher()`` in a process reads what the others wrote.
    """

    def __init__(self, keys: Sequence[str] | None = None) -> None:
        if keys is None:
            keys = default_key_ring()
        if isinstance(keys, str):  # a lone key would be taken as a sequence of characters
            keys = [keys]
        if not keys:
            raise CprKeyError(
                f"the CPR key ring is empty; set {KEYS_SETTING} (make a key with "
                "`workflow cpr new-key`)"
            )
        fernets = [
            _fernet(key, f"CPR key {number} of {len(keys)}")
            for number, key in enumerate(keys, start=1)
        ]
        self._primary = fernets[0]
        self._ring = MultiFernet(fernets)
        # One lookup key per Fernet key, derived so the two uses never share a key.
        self._lookups = [
            hashlib.sha256(b"cpr-lookup\0" + key.strip().encode("ascii")).digest() for key in keys
        ]

    @staticmethod
    def generate_key() -> str:
        """A new random key (url-safe base64, as the key ring takes it)."""
        return Fernet.generate_key().decode("ascii")

    @staticmethod
    def is_encrypted(stored: str) -> bool:
        """Whether a stored value is shaped like a Fernet token (not a plaintext CPR number)."""
        if not _TOKEN_TEXT.fullmatch(stored):
            return False
        try:
            raw = base64.urlsafe_b64decode(stored)
        except (ValueError, binascii.Error):
            return False
        body = len(raw) - _TOKEN_OVERHEAD
        return body >= 16 and body % 16 == 0 and raw[0] == _TOKEN_VERSION

    def encrypt(self, cpr: str) -> str:
        """The stored form of a CPR number: a token under the first key."""
        return self._primary.encrypt(cpr.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The CPR number of a stored value (for the logged reveal only)."""
        if not self.is_encrypted(stored):
            raise CprKeyError(
                "a stored CPR number is not encrypted yet; run `workflow cpr rotate` to "
                "encrypt every CPR number in the store"
            )
        try:
            return self._ring.decrypt(stored).decode("utf-8")
        except InvalidToken:
            raise CprKeyError(
                "the CPR key ring does not contain the key this CPR number was encrypted "
                f"with (or the stored value is damaged); {_MISSING_KEY_HINT}"
            ) from None

    def mask(self, stored: str) -> str:
        """The masked CPR number of a stored value (010203-xxxx).

        A plaintext value left from before encryption is masked as it is, so pages keep
        working until ``workflow cpr rotate`` has encrypted it.
        """
        if not self.is_encrypted(stored):
            return masked_cpr(stored)
        return masked_cpr(self.decrypt(stored))

    def lookup_key(self, cpr: str) -> str:
        """The keyed hash of a CPR number under the newest key (stored as ``cpr_key``).

        A login's CPR claim is matched with it, so no CPR number is ever indexed or
        compared in plain text; without the key ring the hash reveals nothing.
        """
        return self.lookup_keys(cpr)[0]

    def lookup_keys(self, cpr: str) -> list[str]:
        """The keyed hashes of a CPR number under every key, newest first (a key rotation
        in progress still finds rows hashed under an older key)."""
        digits = "".join(ch for ch in cpr if ch.isdigit()).encode("ascii")
        return [hmac.new(key, digits, hashlib.sha256).hexdigest() for key in self._lookups]

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is a token under the first key (nothing to rotate)."""
        if not self.is_encrypted(stored):
            return False
        try:
            self._primary.decrypt(stored)
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str) -> str:
        """The stored value re-encrypted under the first key; plaintext is encrypted."""
        if not self.is_encrypted(stored):
            return self.encrypt(stored)
        try:
            return self._ring.rotate(stored).decode("ascii")
        except InvalidToken:
            raise CprKeyError(
                "the CPR key ring does not contain the key a stored CPR number was "
                f"encrypted with (or the stored value is damaged); {_MISSING_KEY_HINT}"
            ) from None


def key_ring(settings: Settings) -> list[str]:
    """The configured keys, newest first: ``WORKFLOW_CPR_KEYS``, else the key file.

    The key file (``home / "cpr.keys"``) is created with one fresh key and mode 0600 on
    first use. Every key is checked; a bad one is an error naming where it came from.
    """
    if settings.cpr_keys:
        keys = [key.get_secret_value() for key in settings.cpr_keys]
        for number, key in enumerate(keys, start=1):
            _fernet(key, f"{KEYS_SETTING}: key {number} of {len(keys)}")
        return keys
    path = settings.home / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


@lru_cache(maxsize=1)
def default_key_ring() -> tuple[str, ...]:
    """The process's key ring, from :func:`get_settings`, read once and shared."""
    return tuple(key_ring(get_settings()))


def _read_key_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CprKeyError(f"{path}: cannot read the CPR key file ({reason})") from None
    keys: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            _fernet(text, f"{path}:{number}")
            keys.append(text)
    if not keys:
        raise CprKeyError(
            f"{path}: the CPR key file holds no key; put the key the store was encrypted "
            f"with in it, or set {KEYS_SETTING}"
        )
    return keys


def _create_key_file(path: Path) -> None:
    """Write a key file with one fresh key, readable by its owner only.

    Written to a private temporary file and linked into place, so a process starting at
    the same moment either sees no file or a whole one (the first link wins).
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(_KEY_FILE_HEADER + CprCipher.generate_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        # FileExistsError: another process created it first; its key is the one to use.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as exc:
        raise CprKeyError(
            f"{path}: cannot create the CPR key file ({exc.strerror}); set {KEYS_SETTING} "
            "or make WORKFLOW_HOME writable"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class RotationCount:
    """What :func:`rotate_store` did: tokens re-encrypted, plaintext encrypted, left as is."""

    rotated: int = 0
    encrypted: int = 0
    current: int = 0


def rotate_store(
    sessions: sessionmaker[Session], cipher: CprCipher, batch: int = 500
) -> RotationCount:
    """Re-encrypt every stored CPR number under the cipher's first key.

    Walks ``young_persons`` and then ``guardians`` by id, one transaction per ``batch``
    rows, so an interrupted run keeps what it did and a new run carries on. Values already
    under the first key are left alone; plaintext left from before encryption is
    encrypted; each row's ``cpr_key`` (the login's lookup hash) is made under the first
    key too. A row changed meanwhile (the update compares the old value) is left to the
    change. A value no key reads stops the run with :class:`CprKeyError`; batches before
    it stay committed.
    """
    count = RotationCount()
    for model in (YoungPerson, Guardian):
        count = _rotate_table(sessions, cipher, model, batch, count)
    return count


def _rotate_table(
    sessions: sessionmaker[Session],
    cipher: CprCipher,
    model: type[YoungPerson] | type[Guardian],
    batch: int,
    count: RotationCount,
) -> RotationCount:
    rotated, encrypted, current = count.rotated, count.encrypted, count.current
    after = 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(model.id, model.cpr, model.cpr_key)
                .where(model.id > after)
                .order_by(model.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            connection = session.connection()
            for row_id, stored, lookup in rows:
                try:
                    plain = cipher.decrypt(stored) if cipher.is_encrypted(stored) else stored
                    key = cipher.lookup_key(plain)
                    if cipher.is_current(stored):
                        current += 1
                        if lookup != key:
                            connection.execute(
                                update(model).where(model.id == row_id).values(cpr_key=key)
                            )
                        continue
                    plaintext = not cipher.is_encrypted(stored)
                    new = cipher.rotate(stored)
                except CprKeyError as exc:
                    raise CprKeyError(f"{model.__tablename__} row {row_id}: {exc}") from None
                changed = connection.execute(
                    update(model)
                    .where(model.id == row_id, model.cpr == stored)
                    .values(cpr=new, cpr_key=key)
                ).rowcount
                if changed and plaintext:
                    encrypted += 1
                elif changed:
                    rotated += 1
            after = rows[-1][0]
    return RotationCount(rotated=rotated, encrypted=encrypted, current=current)


def fill_cpr_keys(sessions: sessionmaker[Session], cipher: CprCipher, batch: int = 500) -> int:
    """Give young persons stored before citizen login (migration 0008) their ``cpr_key``.

    One indexed query when there is nothing to do, so every start may call it.
    """
    filled = 0
    while True:
        with sessions.begin() as session:
            rows = session.execute(
                select(YoungPerson.id, YoungPerson.cpr)
                .where(YoungPerson.cpr_key.is_(None))
                .order_by(YoungPerson.id)
                .limit(batch)
            ).all()
            for row_id, stored in rows:
                plain = cipher.decrypt(stored) if cipher.is_encrypted(stored) else stored
                session.execute(
                    update(YoungPerson)
                    .where(YoungPerson.id == row_id)
                    .values(cpr_key=cipher.lookup_key(plain))
                )
            filled += len(rows)
            if len(rows) < batch:
                return filled


def cpr_problem(cpr: str, today: date) -> str | None:
    """Why ``cpr`` is not a CPR number (a text key), or None when it is one.

    Checked with ``python-stdnum``'s maintained ``stdnum.dk.cpr``: ten digits (a hyphen or
    spaces allowed), a birth date that exists, in the century its 7th digit gives, and not
    after ``today``. The modulus-11 check digit is *not* required: CPR numbers without it
    have been issued since 2007 (the CPR office ran out of numbers that pass it).
    """
    try:
        number = stdnum_cpr.compact(cpr)
        if not number.isascii() or not number.isdigit() or len(number) != 10:
            return "cpr_format"
        born = stdnum_cpr.get_birth_date(number)
    except (ValidationError, ValueError):
        return "cpr_no_such_date"
    return "cpr_not_born_yet" if born > today else None


def cpr_birth_date(cpr: str) -> date | None:
    """The birth date a CPR number gives (its date and century digit), or None."""
    try:
        return stdnum_cpr.get_birth_date(stdnum_cpr.compact(cpr))
    except (ValidationError, ValueError, IndexError):
        return None


def cpr_matches_birth_date(cpr: str, birth_date: date) -> bool:
    """Whether a CPR number gives this birth date: its first six digits (DDMMYY) *and* the
    century its 7th digit says (``010110-1234`` is born in 1910, ``010110-4321`` in 2010)."""
    return cpr_birth_date(cpr) == birth_date


#: Ten digits, with or without the dash, not inside a longer number.
_CPR_IN_TEXT = re.compile(r"(?<![\d-])(\d{6})-?(\d{4})(?![\d])")


def holds_cpr(text: str, today: date) -> bool:
    """Whether a free text (a task's note or title) holds a CPR number (ten digits that
    are a valid one: a real date in the century its 7th digit gives). A CPR number is
    kept encrypted in its own column and shown masked; written into a note it would be
    in plain text, shown to the whole team and in exports."""
    return any(
        cpr_problem(found.group(1) + found.group(2), today) is None
        for found in _CPR_IN_TEXT.finditer(text)
    )
