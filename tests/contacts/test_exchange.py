"""Importing offices and contacts from CSV and vCard (all or nothing, duplicates skipped or merged) and
exporting them again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.contacts import exchange
from crm.contacts.models import Contact, Office
from crm.core.submissions import new_key
from crm.extensions import db
from tests.conftest import count_rows

TODAY = dt.date(2026, 3, 2)
# The import form's submission key, as the page gives it (kept from the upload to the confirmation).
KEY = new_key()
EMBASSY_LIST = (
    "Nombre,Cargo,Correo,Sede,País,Ciudad,País sede\n"
    "Hanna Beispiel,Botschaftsrätin,hanna@example.org,Embajada de Alemania,Alemania,Madrid,España\n"
    "Jean Exemple,Conseiller,jean@example.org,Ambassade de France,FRA,Madrid,ESP\n"
    "Otto Muster,Attaché,,Embajada de Alemania,DEU,Madrid,ESP\n"
).encode()


def table_counts():
    return {table.name: count_rows(table) for table in db.metadata.sorted_tables}


def test_an_embassy_list_in_spanish_headers_is_imported(app, runner, tmp_path):
    path = tmp_path / "embajadas.csv"
    path.write_bytes(EMBASSY_LIST)
    result = runner.invoke(args=["contacts", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "rows: 3",
        "contacts added: 3",
        "offices added: 2",
        "duplicates skipped: 0",
        "duplicates merged: 0",
    ]
    germany = db.session.scalar(sa.select(Office).where(Office.name == "Embajada de Alemania"))
    assert sorted(c.name for c in germany.contacts) == ["Hanna Beispiel", "Otto Muster"]
    again = runner.invoke(args=["contacts", "import", str(path), "--format", "csv"])
    assert "duplicates skipped: 3" in again.output and count_rows(Contact) == 3


def test_duplicates_can_fill_in_empty_fields(app, make_user):
    actor = make_user("admin")
    exchange.import_contacts(exchange.read_csv(EMBASSY_LIST), actor=actor, today=TODAY)
    update = "name,office,government,city,host country,email\nOtto Muster,Embajada de Alemania,DEU,Madrid,ESP,otto@example.org\n"
    report = exchange.import_contacts(exchange.read_csv(update.encode()), actor=actor, today=TODAY, duplicates="merge")
    assert report.duplicates_merged == ["Otto Muster"]
    assert db.session.scalar(sa.select(Contact.email).where(Contact.name == "Otto Muster")) == "otto@example.org"


@pytest.mark.parametrize(
    "data, file_format, message",
    [
        (b"email,country\na@example.org,ES\n", "csv", "does not have the columns an import of contacts needs"),
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jos\xe9\r\nEND:VCARD\r\n".encode("latin-1"), "vcard", "not UTF-8 text"),
        (b"BEGIN:VCARD\r\nFN broken\r\n", "vcard", "not a vCard file"),
        (EMBASSY_LIST + b"Ana Ejemplo,,,Embajada,Atlantis,Madrid,ESP\n", "csv", "Nothing was imported"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_change_nothing(app, make_user, data, file_format, message):
    actor = make_user("admin")
    db.session.commit()
    before = table_counts()
    with pytest.raises(exchange.ImportRejected, match=message) as refused:
        exchange.import_contacts(exchange.read_file(data, file_format), actor=actor, today=TODAY)
    db.session.rollback()
    assert table_counts() == before
    if "Atlantis" in data.decode("utf-8", "replace"):
        assert refused.value.problems == ["row 5: unknown government “Atlantis”"]


def test_export_as_csv_and_vcard_imports_again(app, make_user):
    actor = make_user("admin")
    exchange.import_contacts(exchange.read_csv(EMBASSY_LIST), actor=actor, today=TODAY)
    statement = sa.select(Contact)
    exported_csv, exported_vcard = exchange.export_csv(statement), exchange.export_vcard(statement)
    assert exported_csv.splitlines()[0] == ",".join(exchange.COLUMNS)
    assert "Hanna Beispiel,Botschaftsrätin,hanna@example.org" in exported_csv
    rows = exchange.read_vcard(exported_vcard.encode())
    assert [(r.values["name"], r.values["government"], r.values["city"]) for r in rows] == [
        ("Hanna Beispiel", "DEU", "Madrid"),
        ("Jean Exemple", "FRA", "Madrid"),
        ("Otto Muster", "DEU", "Madrid"),
    ]
    report = exchange.import_contacts(rows, actor=actor, today=TODAY)
    assert (report.contacts_added, len(report.duplicates_skipped)) == (0, 3)


def test_the_import_page_previews_then_imports(client, signed_in):
    import io

    signed_in("coordinator")
    preview = client.post(
        "/contacts/import",
        data={
            "file": (io.BytesIO(EMBASSY_LIST), "embajadas.csv"),
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "preview",
        },
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: nothing is saved yet" in page and "Contacts to add: 3" in page
    assert count_rows(Contact) == 0
    staged = page.split('name="staged" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        "/contacts/import",
        data={
            "staged": staged,
            "filename": "embajadas.csv",
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "import",
        },
    )
    assert done.status_code == 200 and "Contacts added: 3" in done.get_data(as_text=True)
    assert count_rows(Contact) == 3


def test_the_import_page_shows_every_problem_and_saves_nothing(client, signed_in):
    import io

    signed_in("manager")
    bad = EMBASSY_LIST + b"Ana Ejemplo,,,Embajada,Atlantis,Madrid,ESP\n"
    response = client.post(
        "/contacts/import",
        data={"file": (io.BytesIO(bad), "bad.csv"), "duplicates": "skip", "submission_key": KEY, "step": "import"},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "row 5: unknown government “Atlantis”" in page
    assert count_rows(Contact) == 0 and count_rows(Office) == 0
    exported = client.get("/contacts/export.vcf")
    assert exported.status_code == 200 and exported.mimetype == "text/vcard"


def test_a_csv_of_another_shape_can_be_mapped_on_the_preview(client, signed_in):
    import io

    signed_in("coordinator")
    other_shape = (
        "Person,Job,Mission,State,Town,Host\nHanna Beispiel,Botschaftsrätin,Embajada de Alemania,DEU,Madrid,ESP\n"
    ).encode()
    refused = client.post(
        "/contacts/import",
        data={
            "file": (io.BytesIO(other_shape), "other.csv"),
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "preview",
        },
        content_type="multipart/form-data",
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "does not have the columns an import of contacts needs" in page
    assert count_rows(Contact) == 0
    staged = page.split('name="staged" type="hidden" value="')[1].split('"')[0]
    mapping = {
        "map-0": "name",
        "map-1": "title",
        "map-2": "office",
        "map-3": "government",
        "map-4": "city",
        "map-5": "host_country",
    }
    preview = client.post(
        "/contacts/import",
        data={
            "staged": staged,
            "filename": "other.csv",
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "preview",
            **mapping,
        },
    )
    assert preview.status_code == 200 and "Contacts to add: 1" in preview.get_data(as_text=True)
    done = client.post(
        "/contacts/import",
        data={
            "staged": staged,
            "filename": "other.csv",
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "import",
            **mapping,
        },
    )
    assert done.status_code == 200 and count_rows(Contact) == 1
    assert db.session.scalar(sa.select(Contact.title)) == "Botschaftsrätin"


# The file between the preview and the import waits on the server, as signature uploads do.


def _upload(client, data: bytes, name: str = "embajadas.csv", **extra):
    import io

    return client.post(
        "/contacts/import",
        data={
            "file": (io.BytesIO(data), name),
            "duplicates": "skip",
            "submission_key": KEY,
            "step": "preview",
            **extra,
        },
        content_type="multipart/form-data",
    )


def _token(page: str) -> str:
    return page.split('name="staged" type="hidden" value="')[1].split('"')[0]


def _staged_files(token: str = "") -> list:
    return sorted(exchange.UPLOADS.folder().glob(f"{token}*"))


def test_the_previewed_file_waits_on_the_server_for_its_uploader_only_and_goes_with_the_import(
    client, signed_in, make_user
):
    import base64
    import stat

    uploader = signed_in("coordinator")
    page = _upload(client, EMBASSY_LIST).get_data(as_text=True)
    token = _token(page)
    assert base64.b64encode(EMBASSY_LIST).decode() not in page and len(token) < 64
    (upload,) = [path for path in _staged_files(token) if path.suffix == ".upload"]
    assert upload.read_bytes() == EMBASSY_LIST
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in _staged_files(token))
    assert stat.S_IMODE(exchange.UPLOADS.folder().stat().st_mode) == 0o700

    from tests.conftest import sign_in

    other = make_user("coordinator")
    db.session.commit()
    client.post("/logout")
    sign_in(client, other)
    stolen = client.post(
        "/contacts/import", data={"staged": token, "duplicates": "skip", "submission_key": KEY, "step": "import"}
    )
    assert stolen.status_code == 400 and "That upload has expired" in stolen.get_data(as_text=True)
    assert count_rows(Contact) == 0 and _staged_files(token)  # another user's attempt leaves the file be

    client.post("/logout")
    sign_in(client, uploader)
    done = client.post(
        "/contacts/import", data={"staged": token, "duplicates": "skip", "submission_key": KEY, "step": "import"}
    )
    assert done.status_code == 200 and count_rows(Contact) == 3
    assert _staged_files(token) == []
    # Sent again (a lost answer retried): nothing more, and the user is told so.
    again = client.post(
        "/contacts/import", data={"staged": token, "duplicates": "skip", "submission_key": KEY, "step": "import"}
    )
    assert again.status_code == 302 and count_rows(Contact) == 3


def test_a_refused_file_is_not_kept_and_a_discarded_one_is_deleted(client, signed_in):
    signed_in("manager")
    broken = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jos\xe9\r\nEND:VCARD\r\n".encode("latin-1")
    before = _staged_files()
    refused = _upload(client, broken, "phone.vcf")
    assert refused.status_code == 400 and "not UTF-8 text" in refused.get_data(as_text=True)
    assert _staged_files() == before
    token = _token(_upload(client, EMBASSY_LIST).get_data(as_text=True))
    assert _staged_files(token)
    discarded = client.post(
        "/contacts/import", data={"staged": token, "duplicates": "skip", "submission_key": KEY, "step": "discard"}
    )
    assert discarded.status_code == 302 and _staged_files(token) == [] and count_rows(Contact) == 0


def test_an_old_staged_file_is_swept(client, signed_in):
    import os

    signed_in("coordinator")
    token = _token(_upload(client, EMBASSY_LIST).get_data(as_text=True))
    for path in _staged_files(token):
        old = path.stat().st_mtime - exchange_ttl() - 1
        os.utime(path, (old, old))
    expired = client.post(
        "/contacts/import", data={"staged": token, "duplicates": "skip", "submission_key": KEY, "step": "import"}
    )
    assert expired.status_code == 400 and "That upload has expired" in expired.get_data(as_text=True)
    assert _staged_files(token) == [] and count_rows(Contact) == 0


def exchange_ttl() -> int:
    from crm.staging import STAGE_TTL_SECONDS

    return STAGE_TTL_SECONDS


def test_an_address_book_of_several_megabytes_is_taken_and_one_beyond_the_limit_is_refused(client, signed_in):
    from crm.contacts.routes import IMPORT_MAX_BYTES

    signed_in("coordinator")
    # A phone's address book grows with its photos: blank lines stand in for them here.
    big = EMBASSY_LIST + b"\r\n" * (3 * 1024 * 1024)
    preview = _upload(client, big)
    assert preview.status_code == 200 and "Contacts to add: 3" in preview.get_data(as_text=True)
    before = _staged_files()
    too_big = _upload(client, EMBASSY_LIST + b"\r\n" * (IMPORT_MAX_BYTES // 2))
    page = too_big.get_data(as_text=True)
    assert too_big.status_code == 400 and "The file is larger than 10 MB; split it and import each part." in page
    # Nothing of the refused file is kept (files other tests left may be swept meanwhile).
    assert count_rows(Contact) == 0 and not set(_staged_files()) - set(before)


def test_what_an_interrupted_contacts_import_left_is_deleted_when_the_app_starts(app, client, signed_in):
    """An import killed mid-way leaves its lock file (no lock is held once its process is gone): the next
    start deletes its file; someone's preview, still fresh, stays."""
    from crm import create_app

    signed_in("coordinator")
    fresh = _token(_upload(client, EMBASSY_LIST).get_data(as_text=True))
    killed = _token(_upload(client, EMBASSY_LIST).get_data(as_text=True))
    folder = exchange.UPLOADS.folder()
    (folder / f"{killed}.lock").touch(mode=0o600)
    create_app({**app.config, "CONTACT_UPLOAD_DIR": str(folder)})
    assert _staged_files(killed) == [] and _staged_files(fresh)
