"""Uploaded files kept between a preview and an import (minutes), for every import that previews: in a folder
of the instance, readable by the app's user only, tied to who uploaded them (and for what), and deleted when
the import ends (however it ends), on "discard", or after STAGE_TTL_SECONDS. They hold people's names and
addresses, so they are never kept longer. An import holds a lock file while it runs: when its process is
killed the lock dies with it, and the sweep at the next start (or upload) deletes what it left."""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from crm.database import utcnow
from crm.errors import DomainError

STAGE_TTL_SECONDS = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_BLOCK = 1024 * 1024


class TooLarge(DomainError):
    """The upload is larger than the import takes; nothing of it was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass
class StagedFile:
    token: str
    path: Path
    filename: str
    # Who uploaded it and for what (user, petition...): only a request with the same owner finds it.
    owner: dict = field(default_factory=dict)
    # What the uploader chose about the file (its format, its encoding...).
    details: dict = field(default_factory=dict)

    def open(self):
        return open(self.path, "rb")


@dataclass(frozen=True)
class StagingArea:
    """One import's staging folder: `config_key` names a setting that may move it, else it is `folder_name`
    in the instance folder."""

    config_key: str
    folder_name: str

    def _path(self, app) -> Path:
        return Path(app.config.get(self.config_key) or Path(app.instance_path) / self.folder_name)

    def folder(self) -> Path:
        folder = self._path(current_app)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder

    def sweep(self, folder: Path | None = None) -> None:
        """Delete staged files (and their notes) older than STAGE_TTL_SECONDS, and whatever an import that
        did not finish (its process killed) left behind. A running import keeps its files however long it
        has been running."""
        folder = folder or self.folder()
        limit = utcnow().timestamp() - STAGE_TTL_SECONDS
        for path in folder.iterdir():
            try:
                if _held(folder / f"{path.stem}.lock"):
                    continue
                if path.suffix == ".lock" or path.stat().st_mtime < limit:
                    self.discard(path.stem, folder)
            except FileNotFoundError:
                pass

    def sweep_at_start(self, app) -> None:
        """Run once when the app starts: leftovers of a killed import are not kept until the next upload."""
        folder = self._path(app)
        if folder.is_dir():
            with app.app_context():
                self.sweep(folder)

    def stage(self, upload, *, owner: dict, details: dict | None = None, max_bytes: int | None = None) -> StagedFile:
        """Copy an upload (a werkzeug FileStorage) to the folder, in blocks. Beyond `max_bytes` nothing is
        kept and TooLarge is raised."""
        folder = self.folder()
        self.sweep(folder)
        token = secrets.token_urlsafe(18)
        path = folder / f"{token}.upload"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        written = 0
        with os.fdopen(fd, "wb") as handle:
            for block in iter(lambda: upload.stream.read(_BLOCK), b""):
                written += len(block)
                if max_bytes is not None and written > max_bytes:
                    break
                handle.write(block)
        if max_bytes is not None and written > max_bytes:
            self.discard(token, folder)
            raise TooLarge(max_bytes)
        meta = {"filename": (upload.filename or "")[:255], "owner": dict(owner), "details": dict(details or {})}
        fd = os.open(folder / f"{token}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(meta, handle)
        # Ages are read from the files' times: set them from the app's clock, the one every check reads.
        staged_at = utcnow().timestamp()
        for name in (path, folder / f"{token}.json"):
            os.utime(name, (staged_at, staged_at))
        return StagedFile(token=token, path=path, **meta)

    def find(self, token: str, *, owner: dict) -> StagedFile | None:
        """The staged file, if it exists, is fresh, and was uploaded by this owner."""
        if not _TOKEN.match(token or ""):
            return None
        folder = self.folder()
        self.sweep(folder)
        path, meta_path = folder / f"{token}.upload", folder / f"{token}.json"
        try:
            if path.stat().st_mtime < utcnow().timestamp() - STAGE_TTL_SECONDS:
                self.discard(token, folder)
                return None
            meta = json.loads(meta_path.read_text())
            staged = StagedFile(
                token=token,
                path=path,
                filename=meta["filename"],
                owner=meta["owner"],
                details=meta.get("details") or {},
            )
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        return staged if staged.owner == dict(owner) else None

    @contextmanager
    def importing(self, staged: StagedFile):
        """Hold the staged file for an import, and delete it when the import ends, however it ends."""
        lock_path = staged.path.with_suffix(".lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with staged.open() as handle:
                yield handle
        finally:
            self.discard(staged.token, staged.path.parent)
            os.close(fd)

    def discard(self, token: str, folder: Path | None = None) -> None:
        if not _TOKEN.match(token or ""):
            return
        folder = folder or self.folder()
        for suffix in (".upload", ".json", ".lock"):
            try:
                (folder / f"{token}{suffix}").unlink()
            except FileNotFoundError:
                pass


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
