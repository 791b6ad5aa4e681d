"""The encrypted envelope of a backup archive: a passphrase-derived key and authenticated encryption of
the archive in chunks, so that an archive of any size is written and read in bounded memory.

Construction (every primitive from `cryptography`, nothing invented here):
- key = scrypt(passphrase, salt; N=2**15, r=8, p=1) -> 32 bytes (RFC 7914), salt random per archive;
- the archive is cut into chunks of 1 MiB, each sealed with AES-256-GCM; the nonce is a random 7-byte
  prefix, a 4-byte chunk counter and a 1-byte "last chunk" flag. This is the STREAM construction (Hoang,
  Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
  Misuse-Resistance", CRYPTO 2015), as age and Tink's streaming AEAD use it: reordered, dropped,
  repeated or truncated chunks fail authentication, not only changed bytes;
- the header (format, KDF parameters, salt, nonce prefix) is the associated data of every chunk, and a
  key check (GCM's tag over nothing under a reserved nonce) tells a wrong passphrase from a damaged
  archive before anything else is read.

Layout: MAGIC | version (1) | log2 N (1) | r (1) | p (1) | salt (16) | nonce prefix (7) | key check (16),
then for each chunk: length of the sealed chunk (4, big-endian) | sealed chunk.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"ALCANCE-BACKUP\n"
VERSION = 1
CHUNK = 1024 * 1024
TAG = 16
_HEADER = struct.Struct(">BBBB16s7s")
_LENGTH = struct.Struct(">I")
_KEY_CHECK_NONCE_SUFFIX = b"\xff\xff\xff\xff\xff"  # never a chunk's: the flag byte of a chunk is 0 or 1
MIN_PASSPHRASE = 12


class ArchiveError(Exception):
    """An archive that cannot be read: `reason` is one of "not_an_archive", "wrong_passphrase",
    "damaged", "truncated"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _key(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class EncryptingWriter:
    """A write-only file object: what is written is sealed chunk by chunk into `target`. `close()` seals
    the last chunk (it must be called: an archive without its last chunk is refused as truncated)."""

    def __init__(self, target, passphrase: str, *, log_n: int = 15, r: int = 8, p: int = 1):
        salt, self._prefix = os.urandom(16), os.urandom(7)
        self._aead = AESGCM(_key(passphrase, salt, log_n, r, p))
        self._header = MAGIC + _HEADER.pack(VERSION, log_n, r, p, salt, self._prefix)
        check = self._aead.encrypt(self._prefix + _KEY_CHECK_NONCE_SUFFIX, b"", self._header)
        self._target = target
        self._target.write(self._header + check)
        self._buffer = bytearray()
        self._counter = 0
        self.closed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is sealed at close
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        pass

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self._header)
        self._target.write(_LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self.closed = True


class DecryptingReader:
    """A read-only file object over an archive written by EncryptingWriter. Raises ArchiveError on a wrong
    passphrase (at once), and on any damage or truncation (at the chunk where it is found)."""

    def __init__(self, source, passphrase: str):
        self._source = source
        head = source.read(len(MAGIC) + _HEADER.size)
        if len(head) < len(MAGIC) + _HEADER.size or not head.startswith(MAGIC):
            raise ArchiveError("not_an_archive")
        version, log_n, r, p, salt, self._prefix = _HEADER.unpack(head[len(MAGIC) :])
        if version != VERSION or not (10 <= log_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ArchiveError("not_an_archive")
        self._header = head
        self._aead = AESGCM(_key(passphrase, salt, log_n, r, p))
        check = source.read(TAG)
        try:
            self._aead.decrypt(self._prefix + _KEY_CHECK_NONCE_SUFFIX, check, self._header)
        except InvalidTag:
            # Either the passphrase is wrong or the header itself was changed; a changed header is
            # damage all the same, but the passphrase is by far the likelier cause.
            raise ArchiveError("wrong_passphrase") from None
        self._buffer = b""  # the current chunk's plain text, read from `_position` on
        self._position = 0
        self._counter = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        length = self._source.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise ArchiveError("truncated")
        (size,) = _LENGTH.unpack(length)
        if not TAG <= size <= CHUNK + TAG:
            raise ArchiveError("damaged")
        sealed = self._source.read(size)
        if len(sealed) < size:
            raise ArchiveError("truncated")
        for last in (False, True):
            try:
                plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._header)
            except InvalidTag:
                continue
            self._counter += 1
            if last:
                if self._source.read(1):
                    raise ArchiveError("damaged")  # bytes after the last chunk
                self._done = True
            self._buffer = self._buffer[self._position :] + plain
            self._position = 0
            return
        raise ArchiveError("damaged")

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) - self._position < size):
            self._next_chunk()
        end = len(self._buffer) if size < 0 else min(len(self._buffer), self._position + size)
        data = self._buffer[self._position : end]
        self._position = end
        return data

    def close(self) -> None:
        pass
