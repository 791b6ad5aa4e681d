"""Uploaded export files kept between the preview and the import (minutes): in the instance folder, readable by
the app's user only, tied to the user who uploaded them, and deleted after the import, on "discard", or
after STAGE_TTL by the next upload. They hold signers' e-mail addresses, so they are never kept longer."""
from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from crm.database import utcnow

STAGE_TTL_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class StagedFile:
    token: str
    path: Path
    petition_id: int
    user_id: int
    filename: str
    format: str | None
    encoding: str | None

    def open(self):
        return open(self.path, "rb")


def _folder() -> Path:
    folder = Path(current_app.config.get("SIGNATURE_UPLOAD_DIR") or Path(current_app.instance_path) / "signature_uploads")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def sweep(folder: Path | None = None) -> None:
    """Delete staged files (and their notes) older than STAGE_TTL_SECONDS."""
    folder = folder or _folder()
    limit = utcnow().timestamp() - STAGE_TTL_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                discard(path.stem)
        except FileNotFoundError:
            pass


def stage(upload, *, petition_id: int, user_id: int, format: str | None, encoding: str | None) -> StagedFile:
    """Copy an upload (a werkzeug FileStorage) to the staging folder, in blocks."""
    folder = _folder()
    sweep(folder)
    token = secrets.token_urlsafe(18)
    path = folder / f"{token}.upload"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for block in iter(lambda: upload.stream.read(1024 * 1024), b""):
            handle.write(block)
    meta = {"petition_id": petition_id, "user_id": user_id, "filename": (upload.filename or "")[:255],
            "format": format or None, "encoding": encoding or None}
    fd = os.open(folder / f"{token}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(meta, handle)
    # Ages are read from the files' times: set them from the app's clock, the one every check reads.
    staged_at = utcnow().timestamp()
    for written in (path, folder / f"{token}.json"):
        os.utime(written, (staged_at, staged_at))
    return StagedFile(token=token, path=path, **meta)


def find(token: str, *, petition_id: int, user_id: int) -> StagedFile | None:
    """The staged file, if it exists, is fresh, and was uploaded by this user for this petition."""
    if not _TOKEN.match(token or ""):
        return None
    folder = _folder()
    sweep(folder)
    path, meta_path = folder / f"{token}.upload", folder / f"{token}.json"
    try:
        if path.stat().st_mtime < utcnow().timestamp() - STAGE_TTL_SECONDS:
            discard(token)
            return None
        meta = json.loads(meta_path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if meta.get("petition_id") != petition_id or meta.get("user_id") != user_id:
        return None
    return StagedFile(token=token, path=path, **meta)


def discard(token: str) -> None:
    if not _TOKEN.match(token or ""):
        return
    folder = _folder()
    for suffix in (".upload", ".json"):
        try:
            (folder / f"{token}{suffix}").unlink()
        except FileNotFoundError:
            pass
