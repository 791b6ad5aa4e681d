"""Signature export files kept between the preview and the import, in the shared staging (crm/staging.py):
tied to the user who uploaded them and the petition they are for. They hold signers' e-mail addresses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm import staging
from crm.staging import STAGE_TTL_SECONDS  # noqa: F401  (tests age files past it)

AREA = staging.StagingArea("SIGNATURE_UPLOAD_DIR", "signature_uploads")


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

    @classmethod
    def of(cls, staged: staging.StagedFile) -> StagedFile:
        return cls(
            token=staged.token,
            path=staged.path,
            petition_id=staged.owner["petition_id"],
            user_id=staged.owner["user_id"],
            filename=staged.filename,
            format=staged.details.get("format"),
            encoding=staged.details.get("encoding"),
        )


def _folder() -> Path:
    return AREA.folder()


def sweep(folder: Path | None = None) -> None:
    AREA.sweep(folder)


def sweep_at_start(app) -> None:
    AREA.sweep_at_start(app)


def importing(staged: StagedFile):
    """Hold the staged file for an import, and delete it when the import ends, however it ends."""
    return AREA.importing(staging.StagedFile(token=staged.token, path=staged.path, filename=staged.filename))


def stage(upload, *, petition_id: int, user_id: int, format: str | None, encoding: str | None) -> StagedFile:
    """Copy an upload (a werkzeug FileStorage) to the staging folder, in blocks."""
    return StagedFile.of(
        AREA.stage(
            upload,
            owner={"petition_id": petition_id, "user_id": user_id},
            details={"format": format or None, "encoding": encoding or None},
        )
    )


def find(token: str, *, petition_id: int, user_id: int) -> StagedFile | None:
    """The staged file, if it exists, is fresh, and was uploaded by this user for this petition."""
    staged = AREA.find(token, owner={"petition_id": petition_id, "user_id": user_id})
    return None if staged is None else StagedFile.of(staged)


def discard(token: str) -> None:
    AREA.discard(token)
