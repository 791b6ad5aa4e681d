"""Where letter attachments live: files under the instance folder (never the static folder), named by a
random key, their type told by their content and never by their name."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from crm.errors import DomainError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# What an office package's main part says it is; anything else wearing a ZIP is refused (NuGet and
# VSIX packages, for instance, also carry [Content_Types].xml).
OOXML_PARTS = (
    ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
# The OpenDocument types kept, exactly as the package's first entry must spell them.
ODF_TYPES = frozenset(
    {
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.graphics",
    }
)
# The stored name's extension follows the type found in the content, never the name the file came with.
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.graphics": "odg",
}
DEFAULT_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 5_000
_CHUNK = 1024 * 1024


class AttachmentRejected(DomainError):
    """A file refused. `reason` is "too_large", "unpacked_too_large", "empty" or "unknown_type"; the
    services word it for the user."""

    def __init__(self, reason: str, filename: str, limit: int | None = None):
        super().__init__(f"{filename}: {reason}")
        self.reason, self.filename, self.limit = reason, filename, limit


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def storage_dir() -> Path:
    return Path(current_app.instance_path) / "attachments"


def path_for(storage_key: str) -> Path:
    # Keys are ours (hex), but a key is never allowed to walk out of the folder.
    if not storage_key or not all(c in "0123456789abcdef" for c in storage_key):
        raise FileNotFoundError(storage_key)
    return storage_dir() / storage_key


def max_unpacked_bytes() -> int:
    try:
        return int(current_app.config.get("ATTACHMENT_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES))
    except RuntimeError:  # no app: the default
        return DEFAULT_MAX_UNPACKED_BYTES


class UnpackedTooLarge(DomainError):
    """An office document that unpacks to more than the limit (a "zip bomb")."""


def _unpacked_size(archive: zipfile.ZipFile, limit: int) -> int:
    """Decompress every entry, counting the bytes that really come out (the sizes a ZIP declares can
    lie) and checking each CRC, and stop as soon as the total passes `limit`."""
    total = 0
    for info in archive.infolist():
        with archive.open(info) as entry:
            while chunk := entry.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise UnpackedTooLarge(total)
    return total


def _office_type(data: bytes) -> str | None:
    """The type of an office document (OpenDocument or Office Open XML), checked as a whole container:
    the parts its format requires, nothing that is code, and a bounded unpacked size. None otherwise.
    Raises UnpackedTooLarge for a container that unpacks beyond ATTACHMENT_MAX_UNPACKED_BYTES."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if len(infos) > MAX_ARCHIVE_ENTRIES or len(names) != len(infos):
            return None
        content_type = None
        if "mimetype" in names:
            # OpenDocument: "mimetype" first and stored uncompressed, naming exactly one known type, and the
            # package's content and manifest present.
            first = infos[0]
            if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED or first.file_size > 100:
                return None
            declared = archive.read(first)
            if not declared.isascii() or declared.decode("ascii") not in ODF_TYPES:
                return None
            if not {"content.xml", "META-INF/manifest.xml"} <= names:
                return None
            content_type = declared.decode("ascii")
        elif {"[Content_Types].xml", "_rels/.rels"} <= names:
            # Macros are code: a document that carries them is not kept.
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                return None
            content_type = next((kind for part, kind in OOXML_PARTS if part in names), None)
        if content_type is None:
            return None
        _unpacked_size(archive, max_unpacked_bytes())
        return content_type
    except UnpackedTooLarge:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        KeyError,
        ValueError,
        OSError,
        RuntimeError,
        NotImplementedError,
        EOFError,
    ):
        # Broken, encrypted, a CRC that does not match, a compression method we do not read: not kept.
        return None


def detect_content_type(data: bytes) -> str | None:
    """The type of a file from its first bytes (and, for office documents, its ZIP directory), or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    return None


def clean_filename(name: str | None) -> str:
    """The name shown and offered on download: no folders, no control characters, at most 255 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".") or "attachment"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 255 - len(extension) - 1] + dot + extension) if dot and len(extension) < 16 else name[:255]
    return name


def named_for(filename: str, content_type: str) -> str:
    """`filename` with the extension of the type its content has: a GIF called poly.html is kept and
    downloaded as poly.gif, so that no program later opens it as what its name claimed."""
    extension = EXTENSIONS[content_type]
    stem, dot, current = filename.rpartition(".")
    if dot and stem and current.lower() in ({extension} | ({"jpeg"} if extension == "jpg" else set())):
        return filename
    base = stem if dot and stem and len(current) < 16 else filename
    return clean_filename(f"{base[: 255 - len(extension) - 1]}.{extension}")


def read_upload(upload) -> tuple[str, bytes, str]:
    """Read an uploaded file (werkzeug FileStorage) within the size limit and check its type.
    Returns (clean filename, its extension the detected type's; content; content type);
    raises AttachmentRejected."""
    limit = max_bytes()
    filename = clean_filename(getattr(upload, "filename", None))
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise AttachmentRejected("too_large", filename, limit)
    if not data:
        raise AttachmentRejected("empty", filename)
    try:
        content_type = detect_content_type(data)
    except UnpackedTooLarge:
        raise AttachmentRejected("unpacked_too_large", filename, max_unpacked_bytes()) from None
    if content_type is None:
        raise AttachmentRejected("unknown_type", filename)
    return named_for(filename, content_type), data, content_type


def store(filename: str, data: bytes, content_type: str) -> StoredFile:
    """Write a checked file under a new random key; the folder is created on first use."""
    folder = storage_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(20)
    final = folder / key
    temporary = folder / f".{key}.part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, final)
    return StoredFile(
        storage_key=key,
        filename=filename,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def remove(storage_key: str) -> None:
    """Forget a stored file (used when the database refuses what was uploaded with it)."""
    try:
        path_for(storage_key).unlink()
    except FileNotFoundError:
        pass
