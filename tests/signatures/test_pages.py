"""Signature pages: who may see and change what, the upload -> preview -> import flow, tallies, the secret,
the outreach card, and lists whose query count does not grow with their length."""

import datetime as dt
import io
import os
import re

import pytest
import sqlalchemy as sa

from crm.core.submissions import new_key
from crm.countries.services import country_by_code
from crm.database import utcnow
from crm.extensions import db
from crm.signatures import staging
from crm.signatures.models import Petition, Signature, SignatureImport, SignatureTally
from crm.signatures.push import webhook_secret_matches
from crm.signatures.tallies import record_tally
from crm.signatures.totals import totals_for
from tests.factories import QueryCounter
from tests.signatures.conftest import database_state, fixture_path, import_fixture


def _upload(client, petition, name, **fields):
    data = {"file": (io.BytesIO(fixture_path(name).read_bytes()), name), **fields}
    return client.post(f"/petitions/{petition.slug}/uploads", data=data, content_type="multipart/form-data")


def _token(response) -> str:
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


@pytest.mark.parametrize("role, status", [("volunteer", 404), ("coordinator", 200), ("manager", 200), ("admin", 200)])
def test_campaign_signatures_page_is_for_staff_who_see_everything(
    app, client, signed_in, campaign, make_petition, role, status
):
    petition = make_petition()
    import_fixture(petition, "action_network.csv")
    db.session.commit()
    signed_in(role)
    assert client.get(f"/campaigns/{campaign.slug}/signatures").status_code == status
    assert client.get(f"/petitions/{petition.slug}").status_code == status
    record = db.session.scalar(sa.select(SignatureImport))
    assert client.get(f"/imports/{record.id}").status_code == status


@pytest.mark.parametrize("role, status", [("coordinator", 404), ("manager", 200), ("admin", 200)])
def test_the_csv_export_needs_the_export_ability(app, client, signed_in, campaign, role, status):
    signed_in(role)
    assert client.get(f"/campaigns/{campaign.slug}/signatures.csv").status_code == status


def test_the_csv_export_is_in_the_audit_log_like_every_export(app, client, signed_in, campaign, make_petition):
    from crm.audit.models import AuditEvent

    import_fixture(make_petition(), "action_network.csv")
    db.session.commit()
    user = signed_in("manager")
    page = client.get(f"/campaigns/{campaign.slug}/signatures.csv")
    assert page.status_code == 200
    rows = page.get_data(as_text=True).splitlines()[1:]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.signatures"))
    assert (event.actor_id, event.entity_type, event.entity_id) == (user.id, "campaign", str(campaign.id))
    assert event.after == {"rows": len(rows), "filters": {}, "format": "csv"}


@pytest.mark.parametrize("language, canada", [("en", "Canada,CAN,3"), ("es", "Canadá,CAN,3")])
def test_the_csv_export_names_countries_in_the_readers_language(
    app, client, signed_in, campaign, make_petition, language, canada
):
    import_fixture(make_petition(), "action_network.csv")
    db.session.commit()
    signed_in("manager", language=language)
    lines = client.get(f"/campaigns/{campaign.slug}/signatures.csv").get_data(as_text=True).splitlines()
    # The ISO code in a column of its own; the total counts the 2 signers whose country is not known.
    assert lines == ["country,iso3,signers", canada, lines[2], lines[3], "Total,,7"]
    assert sorted(lines[2:4]) == sorted(
        ["España,ESP,1", "Venezuela,VEN,1"] if language == "es" else ["Spain,ESP,1", "Venezuela,VEN,1"]
    )


def test_the_campaign_page_shows_totals_by_country_petition_and_day(app, client, signed_in, campaign, make_petition):
    import_fixture(make_petition(name="AN"), "action_network.csv")
    import_fixture(make_petition(name="Change"), "change_org.csv")
    db.session.commit()
    signed_in("coordinator")
    html = client.get(f"/campaigns/{campaign.slug}/signatures").get_data(as_text=True)
    assert re.search(r"<dt>Signers</dt><dd>12</dd>", html)
    # The country in the reader's language, its ISO code in a column of its own.
    assert re.search(r"Canada</th><td><code>CAN</code></td>\s*<td class=\"num\">4</td>", html)
    assert "Colombia" in html and ">AN</a>" in html
    # Over time, month by month, the newest first: the last two years first, Change.org's undated signers on
    # the month of their import, which ends with all twelve; every month a link away.
    pattern = r'<tr><td>([^<]+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>'
    assert [(added, total) for _, added, total in re.findall(pattern, html)] == [("8", "12")]
    assert "The table shows the last two years." in html
    assert f'<a href="/campaigns/{campaign.slug}/signatures?months=all#by-day">Show every month</a>' in html
    every = client.get(f"/campaigns/{campaign.slug}/signatures?months=all").get_data(as_text=True)
    # Every month: Action Network's signers dated May 2018 too.
    months = re.findall(pattern, every)
    assert months[-1] == ("May 2018", "4", "4")
    assert [(added, total) for _, added, total in months[:-1]] == [("8", "12")]
    assert "The table shows the last two years." not in every


def test_the_totals_name_each_country_in_the_readers_language_and_the_campaign_page_counts_alike(
    app, client, signed_in, campaign, make_petition
):
    """The totals page names the countries it counts (one counted by a tally only too) in Spanish, and the
    campaign page's figure, read from its kept row, is the totals' own."""
    petition = make_petition(name="AN")
    import_fixture(petition, "action_network.csv")
    record_tally(petition, country_by_code("ARG"), 5, dt.date(2018, 6, 1))
    db.session.commit()
    signed_in("coordinator", language="es")
    html = client.get(f"/campaigns/{campaign.slug}/signatures").get_data(as_text=True)
    assert re.search(r"Argentina</th><td><code>ARG</code></td>\s*<td class=\"num\">5</td>", html)
    assert re.search(r"Canadá</th><td><code>CAN</code></td>\s*<td class=\"num\">3</td>", html)
    assert re.search(r"España</th><td><code>ESP</code></td>\s*<td class=\"num\">1</td>", html)
    assert re.search(r"<dt>Firmantes</dt><dd>12</dd>", html)
    page = client.get(f"/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "<strong>12 firmantes</strong>" in page


def test_a_volunteer_cannot_upload_or_create(app, client, signed_in, campaign, make_petition):
    petition = make_petition()
    db.session.commit()
    signed_in("volunteer")
    assert _upload(client, petition, "generic.csv").status_code == 404
    assert (
        client.post(f"/campaigns/{campaign.slug}/petitions", data={"name": "x", "platform": "generic"}).status_code
        == 404
    )
    assert client.post(f"/petitions/{petition.slug}/webhook-secret").status_code == 404


def test_create_a_petition(app, client, signed_in, campaign):
    signed_in("coordinator")
    response = client.post(
        f"/campaigns/{campaign.slug}/petitions",
        data={"submission_key": new_key(), "name": "Change.org (español)", "platform": "change_org", "language": "es"},
    )
    assert response.status_code == 302
    petition = db.session.scalar(sa.select(Petition).where(Petition.campaign_id == campaign.id))
    assert (petition.name, petition.platform, petition.language) == ("Change.org (español)", "change_org", "es")
    assert response.headers["Location"].endswith(f"/petitions/{petition.slug}")


def test_upload_preview_and_import(app, client, signed_in, campaign, make_petition):
    petition = make_petition(platform="change_org")
    db.session.commit()
    signed_in("coordinator")
    response = _upload(client, petition, "change_org.csv")
    assert response.status_code == 302
    token = _token(response)
    preview = client.get(f"/petitions/{petition.slug}/uploads/{token}")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Change.org" in html and "utf-16" in html and "tab" in html
    assert "A•••@example.org" in html and "ANA@example.org" not in html  # addresses masked in the preview
    assert '<option selected value="Email">' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0  # nothing yet
    done = client.post(
        f"/petitions/{petition.slug}/uploads/{token}",
        data={"email": "Email", "country": "Country", "signed_at": "Signed On", "date_order": "ymd"},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    report = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Narnia" in report and re.search(r"<dt>New signers</dt><dd>7</dd>", report)
    assert totals_for(campaign).total == 7
    assert staging.find(token, petition_id=petition.id, user_id=1) is None
    assert not list((staging._folder()).glob(f"{token}*"))  # the file with the addresses is gone


NO_EMAIL_COLUMN = (
    "Choose the e-mail column. If the platform gives no addresses, tick “Count these signers by name and place”"
)


def test_a_generic_file_needs_its_columns_chosen_and_the_choice_is_remembered(
    app, client, signed_in, campaign, make_petition
):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    token = _token(_upload(client, petition, "unlabelled.csv"))
    page = client.get(f"/petitions/{petition.slug}/uploads/{token}").get_data(as_text=True)
    assert "Spreadsheet (choose the columns)" in page
    refused = client.post(f"/petitions/{petition.slug}/uploads/{token}", data={"email": "", "date_order": "ymd"})
    # Without an e-mail column, a generic file is refused unless the user confirms counting by name and place.
    assert refused.status_code == 400 and NO_EMAIL_COLUMN in refused.get_data(as_text=True)
    done = client.post(
        f"/petitions/{petition.slug}/uploads/{token}",
        data={"email": "Columna B", "country": "Columna C", "date_order": "ymd"},
    )
    assert done.status_code == 302
    token = _token(_upload(client, petition, "unlabelled_2.csv"))
    page = client.get(f"/petitions/{petition.slug}/uploads/{token}").get_data(as_text=True)
    assert '<option selected value="Columna B">' in page  # remembered for this petition
    assert (
        client.post(
            f"/petitions/{petition.slug}/uploads/{token}",
            data={"email": "Columna B", "country": "Columna C", "date_order": "ymd"},
        ).status_code
        == 302
    )
    assert totals_for(campaign).by_country == {"CHL": 2, "ARG": 1}


@pytest.mark.parametrize(
    "name, message",
    [
        ("latin1.csv", "Line 1 is not valid utf-8 text"),
        ("no_email.csv", NO_EMAIL_COLUMN),
        ("ragged.csv", "Row 14 has 4 values but the header has 3 columns"),
    ],
)
def test_a_malformed_file_gets_a_clear_report_and_changes_nothing(app, client, signed_in, make_petition, name, message):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    before = database_state()
    token = _token(_upload(client, petition, name))
    page = client.get(f"/petitions/{petition.slug}/uploads/{token}")
    if page.status_code == 200:  # readable enough to preview: refused on import
        guess = {"email": "email"} if name == "ragged.csv" else {"email": ""}
        page = client.post(f"/petitions/{petition.slug}/uploads/{token}", data={**guess, "date_order": "ymd"})
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert database_state() == before


def test_someone_elses_upload_cannot_be_used(app, client, signed_in, make_petition, make_user):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    token = _token(_upload(client, petition, "generic.csv"))
    client.post("/logout")
    signed_in("manager")
    response = client.get(f"/petitions/{petition.slug}/uploads/{token}")
    assert response.status_code == 302
    assert (
        client.post(f"/petitions/{petition.slug}/uploads/{token}", data={"email": "Correo electrónico"}).status_code
        == 302
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert client.get(f"/petitions/{petition.slug}/uploads/..%2f..%2fsecret_key").status_code == 404


def test_tallies_by_hand(app, client, signed_in, campaign, make_petition):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    spain = country_by_code("ESP")
    response = client.post(
        f"/petitions/{petition.slug}/tallies",
        data={
            "submission_key": new_key(),
            "country": spain.id,
            "signers": "1204",
            "as_of": "2018-06-01",
            "source": "panel",
        },
    )
    assert response.status_code == 302
    refused = client.post(
        f"/petitions/{petition.slug}/tallies",
        data={"submission_key": new_key(), "country": spain.id, "signers": "10", "as_of": "2018-05-01"},
    )
    assert refused.status_code == 400 and "A newer tally" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(SignatureTally.signers)) == 1204
    file = {"file": (io.BytesIO(b"country,signers,as_of\nCAN,2310,2018-06-01\n"), "t.csv"), "submission_key": new_key()}
    assert (
        client.post(
            f"/petitions/{petition.slug}/tallies/file", data=file, content_type="multipart/form-data"
        ).status_code
        == 302
    )
    assert totals_for(campaign).total == 1204 + 2310
    older = {"file": (io.BytesIO(b"country,signers,as_of\nESP,10,2018-05-01\n"), "t.csv"), "submission_key": new_key()}
    refused = client.post(f"/petitions/{petition.slug}/tallies/file", data=older, content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    # A row's refusal is the file's: said beside the file field, and nothing of the file is kept.
    assert refused.status_code == 400 and re.search(r'id="file-error">A newer tally', html)
    assert db.session.scalar(sa.select(SignatureTally.signers).where(SignatureTally.country_id == spain.id)) == 1204


def test_the_webhook_secret_is_shown_once_and_only_its_hash_kept(app, client, signed_in, make_petition):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    page = client.post(f"/petitions/{petition.slug}/webhook-secret")
    html = page.get_data(as_text=True)
    secret = re.search(r"<dt>Secret</dt><dd><code>([^<]+)</code>", html).group(1)
    db.session.expire_all()
    petition = db.session.get(Petition, petition.id)
    assert webhook_secret_matches(petition, secret)
    assert secret not in client.get(f"/petitions/{petition.slug}").get_data(as_text=True)


def test_the_outreach_card_and_summary(app, client, signed_in, campaign, make_petition, make_record):
    from flask import render_template_string

    record = make_record("CAN")
    import_fixture(make_petition(), "action_network.csv")
    record_tally(make_petition(), country_by_code("CAN"), 2307, dt.date(2018, 6, 1))
    db.session.commit()
    with app.test_request_context():
        from flask_login import login_user

        login_user(signed_in("coordinator"))
        html = render_template_string(
            '{% include "signatures/_outreach_card.html" %}{% include "signatures/_campaign_summary.html" %}',
            record=record,
            campaign=campaign,
        )
    assert "2,310 signers live in Canada" in html and "2,314 in all" in html and "2,314 signers" in html
    assert f"/outreach/{record.id}/dossier.pdf" in html


def _queries(client, url) -> int:
    with QueryCounter(db.engine) as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_lists_take_a_fixed_number_of_queries(app, client, signed_in, campaign, make_petition):
    """The campaign page (petitions, countries, days) and a petition page (imports, tallies) with 10 rows,
    then with 200."""
    countries = db.session.scalars(
        sa.select(sa.text("id")).select_from(sa.text("country")).order_by(sa.text("id")).limit(200)
    ).all()
    first = make_petition()
    signed_in("coordinator")
    counts = []
    for start, stop in ((0, 10), (10, 200)):
        for n in range(start, stop):
            petition = first if n == 0 else make_petition()
            db.session.add(
                SignatureTally(
                    petition_id=petition.id,
                    country_id=countries[n],
                    signers=3,
                    as_of=dt.date(2018, 6, 1) + dt.timedelta(days=n),
                )
            )
            if n:
                db.session.add(
                    SignatureTally(petition_id=first.id, country_id=countries[n], signers=1, as_of=dt.date(2018, 6, 1))
                )
            db.session.add(SignatureImport(petition_id=first.id, filename=f"f{n}.csv", rows_read=1, rows_new=1))
        db.session.commit()
        counts.append(
            (_queries(client, f"/campaigns/{campaign.slug}/signatures"), _queries(client, f"/petitions/{first.slug}"))
        )
    assert counts[0] == counts[1]


def test_the_petition_page_shows_its_own_signers_by_country(app, client, signed_in, make_petition):
    first, second = make_petition(name="AN"), make_petition(name="Change")
    import_fixture(first, "action_network.csv")
    import_fixture(second, "change_org.csv")
    record_tally(second, country_by_code("MEX"), 9, dt.date(2018, 6, 1))
    db.session.commit()
    signed_in("coordinator")
    html = client.get(f"/petitions/{second.slug}").get_data(as_text=True)
    assert re.search(r"<dt>Signers counted on this petition</dt><dd>14</dd>", html)  # 5 new + the tally of 9
    assert re.search(r"Mexico</th><td class=\"num\">9</td>", html)
    assert re.search(r"Country not known</th><td class=\"num\">1</td>", html)


def test_staged_files_expire(app, client, signed_in, make_petition):
    import os

    petition = make_petition()
    db.session.commit()
    user = signed_in("coordinator")
    token = _token(_upload(client, petition, "generic.csv"))
    path = staging._folder() / f"{token}.upload"
    old = path.stat().st_mtime - staging.STAGE_TTL_SECONDS - 1
    os.utime(path, (old, old))
    assert staging.find(token, petition_id=petition.id, user_id=user.id) is None
    assert not path.exists()


def test_a_refused_import_deletes_the_uploaded_file(app, client, signed_in, make_petition):
    """The file holds signers' addresses: a refusal does not leave it behind until the next upload."""
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    token = _token(_upload(client, petition, "ragged.csv"))
    assert client.get(f"/petitions/{petition.slug}/uploads/{token}").status_code == 200
    assert list(staging._folder().glob(f"{token}*"))
    refused = client.post(f"/petitions/{petition.slug}/uploads/{token}", data={"email": "email", "date_order": "ymd"})
    assert refused.status_code == 400 and "File refused: nothing was imported" in refused.get_data(as_text=True)
    assert not list(staging._folder().glob(f"{token}*"))
    assert "Back to the columns" not in refused.get_data(as_text=True)  # the file is gone: upload it again


def test_what_a_killed_import_left_is_deleted_when_the_app_starts(app, client, signed_in, make_petition, tmp_path):
    """A real second process holds an import's lock and is killed (SIGKILL: no clean-up runs). While it
    lives, sweeps leave its file alone; once it is dead, the next start deletes it."""
    import signal
    import subprocess
    import sys

    from crm import create_app

    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    fresh = _token(_upload(client, petition, "generic.csv"))  # someone's preview, not importing: kept
    killed = _token(_upload(client, petition, "generic.csv"))
    folder = staging._folder()
    lock = folder / f"{killed}.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        # A running import keeps its file, even one that has been running for longer than a preview lives.
        long_ago = utcnow().timestamp() - staging.STAGE_TTL_SECONDS - 60
        for path in folder.glob(f"{killed}.*"):
            os.utime(path, (long_ago, long_ago))
        staging.sweep(folder)
        assert (folder / f"{killed}.upload").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    create_app({**app.config, "SIGNATURE_UPLOAD_DIR": str(folder)})
    assert not list(folder.glob(f"{killed}*"))
    assert (folder / f"{fresh}.upload").exists()


def test_signatures_are_in_the_menu_campaign_then_petitions_then_totals(client, signed_in, campaign, make_petition):
    petition = make_petition()
    db.session.commit()
    signed_in("coordinator")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/signatures">Signatures</a>' in home
    page = client.get("/signatures").get_data(as_text=True)
    assert campaign.name in page and f'href="/petitions/{petition.slug}"' in page
    assert f'href="/campaigns/{campaign.slug}/signatures"' in page
    client.post("/logout")
    signed_in("volunteer")
    assert 'href="/signatures"' not in client.get("/").get_data(as_text=True)
    assert client.get("/signatures").status_code == 404


def test_the_petition_page_says_whether_a_tally_or_the_imported_rows_count(client, signed_in, make_petition):
    petition = make_petition()
    import_fixture(petition, "action_network.csv")
    imported = {
        code: db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Signature)
            .where(Signature.petition_id == petition.id, Signature.country_id == country_by_code(code).id)
        )
        for code in ("CAN", "ESP", "MEX")
    }
    assert imported["CAN"] >= 2 and imported["ESP"] >= 1 and imported["MEX"] == 0
    tallied = {"CAN": imported["CAN"] - 1, "ESP": imported["ESP"] + 5, "MEX": 40}
    for code, signers in tallied.items():
        record_tally(petition, country_by_code(code), signers, dt.date(2018, 6, 1), source="panel")
    db.session.commit()
    signed_in("coordinator")
    page = client.get(f"/petitions/{petition.slug}").get_data(as_text=True)

    def row(code):
        return re.search(rf'<tr data-country="{code}">(.*?)</tr>', page, re.S).group(1)

    assert f'<td class="num">{imported["CAN"]}</td>' in row("CAN")
    assert "The signatures imported: they are more than the tally" in row("CAN")
    assert f'<td class="num">{imported["ESP"]}</td>' in row("ESP")
    assert "The tally: it is at least the signatures imported" in row("ESP")
    assert '<td class="num">0</td>' in row("MEX") and "The tally: no signature of this country was imported" in row(
        "MEX"
    )
    totals = totals_for(petition.campaign)
    assert (totals.by_country["CAN"], totals.by_country["ESP"], totals.by_country["MEX"]) == (
        imported["CAN"],
        tallied["ESP"],
        40,
    )


def test_a_campaign_not_signed_for_two_years_shows_every_month(app, campaign, make_petition):
    from crm.signatures.totals import monthly_totals, recent_monthly_totals, totals_for

    import_fixture(make_petition(name="AN"), "action_network.csv")
    import_fixture(make_petition(name="Change"), "change_org.csv")
    db.session.commit()
    totals, every = totals_for(campaign), monthly_totals(campaign)
    assert len(every) == 2 and every[0].month == dt.date(2018, 5, 1)
    # Today: the last two years hold the month of the import, and something was added before them.
    assert recent_monthly_totals(campaign, totals, every[-1].month) == (every[-1:], True)
    # Two years and more later, nothing was added in the last two: the whole series, nothing a link away.
    assert recent_monthly_totals(campaign, totals, every[-1].month.replace(year=every[-1].month.year + 3)) == (
        every,
        False,
    )
    # Seen from June 2018, the first month is in the last two years: nothing was added before them.
    assert recent_monthly_totals(campaign, totals, dt.date(2018, 6, 30)) == (every, False)
