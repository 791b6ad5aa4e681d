"""Uploaded export files kept between the preview and the import (minutes): in the instance folder, readable by
the app's user only, tied to the user who uploaded them, and deleted when the import ends (however it ends), on
"discard", or after STAGE_TTL. They hold signers' e-mail addresses, so they are never kept longer. An import
holds a lock file while it runs: when its process is killed the lock dies with it, and the sweep at the next
start (or upload) deletes what it left."""
from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from contextlib import contextmanager
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


def _held(lock_path: Path) -> bool:
    """Whether a running import holds this lock file."""
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


def sweep(folder: Path | None = None) -> None:
    """Delete staged files (and their notes) older than STAGE_TTL_SECONDS, and whatever an import that
    did not finish (its process killed) left behind. A running import keeps its files however long it
    has been running."""
    folder = folder or _folder()
    limit = utcnow().timestamp() - STAGE_TTL_SECONDS
    for path in folder.iterdir():
        try:
            if _held(folder / f"{path.stem}.lock"):
                continue
            if path.suffix == ".lock" or path.stat().st_mtime < limit:
                discard(path.stem)
        except FileNotFoundError:
            pass


def sweep_at_start(app) -> None:
    """Run once when the app starts: leftovers of a killed import are not kept until the next upload."""
    folder = Path(app.config.get("SIGNATURE_UPLOAD_DIR") or Path(app.instance_path) / "signature_uploads")
    if folder.is_dir():
        with app.app_context():
            sweep(folder)


@contextmanager
def importing(staged: StagedFile):
    """Hold the staged file for an import, and delete it when the import ends, however it ends."""
    lock_path = staged.path.with_suffix(".lock")
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with staged.open() as handle:
            yield handle
    finally:
        discard(staged.token)
        os.close(fd)


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
    for suffix in (".upload", ".json", ".lock"):
        try:
            (folder / f"{token}{suffix}").unlink()
        except FileNotFoundError:
            pass
