"""Attachments: checked by content and size, stored outside the static folder, downloaded as attachments."""

import hashlib
import io
import zipfile

import pytest
import sqlalchemy as sa

from crm.core.submissions import new_key
from crm.extensions import db
from crm.letters import storage
from crm.letters.models import LetterAttachment
from tests.conftest import count_rows
from tests.letters import (
    FIXTURES,
    attachments_dir,  # noqa: F401  (fixture)
    build_outreach,
    compose,
    templates,  # noqa: F401  (fixture)
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def office_file(*names: str, mimetype: bytes | None = None, compress_mimetype: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if mimetype is not None:
            archive.writestr(
                "mimetype", mimetype, compress_type=zipfile.ZIP_DEFLATED if compress_mimetype else zipfile.ZIP_STORED
            )
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


OOXML = ("[Content_Types].xml", "_rels/.rels")
ODF = ("content.xml", "META-INF/manifest.xml")
DOCX = office_file(*OOXML, "word/document.xml")
XLSX = office_file(*OOXML, "xl/workbook.xml")
ODT = office_file(*ODF, mimetype=b"application/vnd.oasis.opendocument.text")


def zip_bomb(unpacked_mb: int, *names: str) -> bytes:
    """A valid-looking .docx whose one large part is zeros: small packed, huge unpacked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as part:
            block = b"\0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                part.write(block)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data,content_type",
    [
        ((FIXTURES / "reply.pdf").read_bytes(), "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (ODT, "application/vnd.oasis.opendocument.text"),
    ],
)
def test_kept_types_are_told_by_their_content(data, content_type):
    assert storage.detect_content_type(data) == content_type


@pytest.mark.parametrize(
    "data",
    [
        (FIXTURES / "page-named-as.pdf").read_bytes(),
        (FIXTURES / "drawing.svg").read_bytes(),
        b"MZ\x90\x00 an executable",
        b"plain text",
        b" %PDF-1.4 not at the start",
        office_file("readme.txt"),  # a ZIP, not an office document
        office_file(*OOXML, "lib/package.dll"),  # a NuGet-like package
        office_file(*OOXML, "word/document.xml", "word/vbaProject.bin"),  # macros
        office_file("[Content_Types].xml", "word/document.xml"),  # no package relationships
        office_file(*ODF, mimetype=b"text/html"),
        office_file(*ODF, mimetype=b"application/vnd.oasis.opendocument.text\r\nContent-Type: text/html"),
        office_file(*ODF, mimetype=b"application/vnd.oasis.opendocument.text-web"),  # not a kept type
        office_file("content.xml", mimetype=b"application/vnd.oasis.opendocument.text"),  # no manifest
        office_file(*ODF, mimetype=b"application/vnd.oasis.opendocument.text", compress_mimetype=True),
        b"PK\x03\x04 broken zip",
    ],
)
def test_everything_else_is_refused(data):
    assert storage.detect_content_type(data) is None


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\scan.pdf", "scan.pdf"),
        ("carta\u0000\r\n.pdf", "carta.pdf"),
        ("", "attachment"),
        (".hidden.pdf", "hidden.pdf"),
        ("a" * 300 + ".pdf", "a" * 251 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(name, expected):
    assert storage.clean_filename(name) == expected


def test_storage_keys_never_leave_the_folder(app):
    for key in ("../secret_key", "/etc/passwd", "", "ABC"):
        with pytest.raises(FileNotFoundError):
            storage.path_for(key)


@pytest.fixture
def letter(app, signed_in, templates, attachments_dir):
    volunteer = signed_in("volunteer")
    world = build_outreach(assignee=volunteer)
    letter = compose(world, volunteer)
    db.session.commit()
    return letter


def upload(client, letter, data: bytes, name: str):
    return client.post(
        f"/letters/{letter.id}/attachments",
        data={"submission_key": new_key(), "attachments": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_real_pdf_is_kept_outside_static_and_downloaded_as_an_attachment(client, app, letter, attachments_dir):
    pdf = (FIXTURES / "reply.pdf").read_bytes()
    response = upload(client, letter, pdf, "Carta firmada (v2).pdf")
    assert response.status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "Carta firmada (v2).pdf",
        "application/pdf",
        len(pdf),
    )
    assert attachment.sha256 == hashlib.sha256(pdf).hexdigest()
    stored = attachments_dir / attachment.storage_key
    assert stored.read_bytes() == pdf
    assert not str(stored.resolve()).startswith(str(app.static_folder))
    assert "Carta firmada (v2).pdf" in client.get(f"/letters/{letter.id}").get_data(as_text=True)

    download = client.get(f"/letters/{letter.id}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Carta" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "no-store" in download.headers["Cache-Control"]


def test_a_name_outside_ascii_survives_the_download(client, letter):
    assert upload(client, letter, PNG, "foto embajada ñandú.png").status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    download = client.get(f"/letters/{letter.id}/attachments/{attachment.id}")
    assert download.headers["Content-Type"] == "image/png"
    assert "filename*=UTF-8''foto%20embajada%20%C3%B1and%C3%BA.png" in download.headers["Content-Disposition"]


@pytest.mark.parametrize("fixture,name", [("page-named-as.pdf", "scan.pdf"), ("drawing.svg", "logo.png")])
def test_html_or_svg_wearing_another_name_is_refused(client, letter, attachments_dir, fixture, name):
    response = upload(client, letter, (FIXTURES / fixture).read_bytes(), name)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="attachments-error">{name} is not a PDF' in page
    assert count_rows(LetterAttachment) == 0
    assert not attachments_dir.exists() or not any(attachments_dir.iterdir())


def test_an_oversize_file_is_refused(client, app, letter, monkeypatch, attachments_dir):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024 * 1024)
    big = b"%PDF-1.4\n" + b"0" * (1024 * 1024)
    response = upload(client, letter, big, "big.pdf")
    assert response.status_code == 400
    assert "big.pdf is larger than 1 MB" in response.get_data(as_text=True)
    assert count_rows(LetterAttachment) == 0
    assert not attachments_dir.exists() or not any(attachments_dir.iterdir())
    assert upload(client, letter, b"%PDF-1.4\n" + b"0" * 1000, "small.pdf").status_code == 302


def test_the_default_limit_is_ten_megabytes(app):
    assert "ATTACHMENT_MAX_BYTES" not in app.config or app.config["ATTACHMENT_MAX_BYTES"] == 10 * 1024 * 1024
    assert storage.max_bytes() == 10 * 1024 * 1024


def test_an_empty_upload_is_refused(client, letter):
    response = client.post(
        f"/letters/{letter.id}/attachments", data={"submission_key": new_key()}, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and 'id="attachments-error"' in response.get_data(as_text=True)
    assert upload(client, letter, b"", "empty.pdf").status_code == 400


def test_download_needs_permission_to_see_the_record(client, app, letter, signed_in):
    assert upload(client, letter, PNG, "photo.png").status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    other = build_outreach()
    other_letter = compose(other, None)
    db.session.commit()
    # Right attachment, wrong letter in the address: not found.
    assert client.get(f"/letters/{other_letter.id}/attachments/{attachment.id}").status_code == 404
    client.post("/logout")
    signed_in("volunteer")  # not the assignee
    assert client.get(f"/letters/{letter.id}/attachments/{attachment.id}").status_code == 404
    client.post("/logout")
    signed_in("manager")
    assert client.get(f"/letters/{letter.id}/attachments/{attachment.id}").status_code == 200


def test_a_missing_file_is_404_not_an_error(client, letter, attachments_dir):
    assert upload(client, letter, PNG, "photo.png").status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    (attachments_dir / attachment.storage_key).unlink()
    assert client.get(f"/letters/{letter.id}/attachments/{attachment.id}").status_code == 404


def test_an_odf_mimetype_with_a_header_in_it_is_refused_and_downloads_never_break(client, letter, attachments_dir):
    crafted = office_file(*ODF, mimetype=b"application/vnd.oasis.opendocument.text\r\nContent-Type: text/html")
    response = upload(client, letter, crafted, "carta.odt")
    assert response.status_code == 400 and "carta.odt is not a PDF" in response.get_data(as_text=True)
    assert count_rows(LetterAttachment) == 0
    # One stored before uploads were checked this strictly is downloaded as plain bytes, not a 500.
    assert upload(client, letter, ODT, "carta.odt").status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    db.session.execute(
        sa.update(LetterAttachment).values(
            content_type="application/vnd.oasis.opendocument.text\r\nContent-Type: text/html"
        )
    )
    db.session.commit()
    download = client.get(f"/letters/{letter.id}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "data,name,kept_as",
    [
        (GIF + b"<html><script>alert(1)</script></html>", "poly.html", "poly.gif"),
        (PNG, "photo", "photo.png"),
        (JPEG, "scan.JPEG", "scan.JPEG"),
        (DOCX, "carta.pdf", "carta.docx"),
        (ODT, "nota.odt", "nota.odt"),
    ],
    ids=["gif-html-polyglot", "no-extension", "jpeg-spelling-kept", "docx-named-pdf", "odt"],
)
def test_the_stored_name_takes_the_extension_of_the_type_found(client, letter, data, name, kept_as):
    assert upload(client, letter, data, name).status_code == 302
    attachment = db.session.scalars(sa.select(LetterAttachment)).one()
    assert attachment.filename == kept_as
    download = client.get(f"/letters/{letter.id}/attachments/{attachment.id}")
    assert kept_as in download.headers["Content-Disposition"] and ".html" not in download.headers["Content-Disposition"]


def test_a_document_that_unpacks_beyond_the_limit_is_refused(client, app, letter, monkeypatch, attachments_dir):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_UNPACKED_BYTES", 20 * 1024 * 1024)
    bomb = zip_bomb(40, *OOXML, "word/document.xml")
    assert len(bomb) < 200 * 1024  # small on the wire
    response = upload(client, letter, bomb, "report.docx")
    assert response.status_code == 400
    assert "report.docx unpacks to more than 20 MB: it is not kept." in response.get_data(as_text=True)
    assert count_rows(LetterAttachment) == 0
    assert not attachments_dir.exists() or not any(attachments_dir.iterdir())
    # Below the limit, the same document is kept.
    assert upload(client, letter, zip_bomb(10, *OOXML, "word/document.xml"), "report.docx").status_code == 302


def test_the_default_unpacked_limit_is_a_hundred_megabytes(app):
    assert storage.max_unpacked_bytes() == 100 * 1024 * 1024
