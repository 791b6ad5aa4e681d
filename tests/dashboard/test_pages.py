"""The dashboard through HTTP: who may see it, what the demo campaign's page shows, the map as SVG, and a
query count that does not grow with the number of governments."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from crm.countries.models import Country
from crm.dashboard.maps import world_map
from crm.extensions import db
from crm.outreach import services as outreach
from tests.conftest import utc_today
from tests.dashboard.conftest import DEMO_URL, demand, demo_record

# The clock stands still during each test (tests/conftest.py's `clock`).
pytestmark = pytest.mark.usefixtures("clock")

SVG = "{http://www.w3.org/2000/svg}"
DEMO_PAGES = (
    DEMO_URL,
    DEMO_URL + "/positions",
    DEMO_URL + "/changes",
    DEMO_URL + "/map.svg",
    DEMO_URL + "/matrix.csv",
    DEMO_URL + "/outreach.csv",
)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_managers_and_admins_see_the_dashboard(client, signed_in, demo, role):
    signed_in(role)
    assert client.get("/dashboard/").status_code == 200
    for url in DEMO_PAGES:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["coordinator", "volunteer"])
def test_other_roles_get_not_found(client, signed_in, demo, role):
    signed_in(role)
    for url in ("/dashboard/", *DEMO_PAGES):
        assert client.get(url).status_code == 404, url


def test_signed_out_visitors_are_sent_to_sign_in(client, demo):
    for url in ("/dashboard/", *DEMO_PAGES):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_an_unknown_campaign_is_not_found(client, signed_in):
    signed_in("manager")
    assert client.get("/dashboard/no-such-campaign").status_code == 404
    assert client.get("/dashboard/no-such-campaign/matrix.csv").status_code == 404


@pytest.mark.parametrize(
    "role,shown", [("admin", True), ("manager", True), ("coordinator", False), ("volunteer", False)]
)
def test_the_menu_links_the_dashboard_for_those_who_may_see_it(client, signed_in, role, shown):
    """The menu is made once for each language and set of abilities: each reader gets their own."""
    signed_in(role)
    for language, my_work in (("en", "My work"), ("es", "Mi trabajo"), ("en", "My work")):
        client.post("/language", data={"language": language})
        menu = client.get("/my-work").get_data(as_text=True).split('<nav aria-label="')[1].split("</nav>")[0]
        assert ('href="/dashboard/"' in menu) is shown, language
        assert f'<a href="/my-work">{my_work}</a>' in menu


def test_the_index_lists_campaigns(client, signed_in, demo):
    signed_in("manager")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert f'href="{DEMO_URL}"' in page and "13 target governments" in page


class _Cells(HTMLParser):
    """Text of the table rows of one table on the page, by the row's data attribute."""

    def __init__(self, table_marker: str, key: str):
        super().__init__()
        self.marker, self.key = table_marker, key
        self.depth = 0
        self.rows: dict[str, list[str]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") == self.marker or self.marker in (attrs.get("class") or "").split()):
            self.depth = 1
        elif tag == "tr" and self.depth and self.key in attrs:
            self.current = attrs[self.key]
            self.rows[self.current] = []
        elif tag in ("td", "th") and self.current:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.current:
            self.rows[self.current].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr":
            self.current = None
        elif tag == "table":
            self.depth = 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def rows(page: str, table: str, key: str) -> dict[str, list[str]]:
    parser = _Cells(table, key)
    parser.feed(page)
    return parser.rows


def test_the_page_shows_the_demo_figures(client, signed_in, demo):
    signed_in("manager")
    page = client.get(DEMO_URL).get_data(as_text=True)
    stages = rows(page, "stages", "data-stage")
    assert {stage: cells[1] for stage, cells in stages.items()} == {
        "not_started": "1",
        "contacted": "2",
        "meeting_requested": "2",
        "meeting_held": "2",
        "responded": "2",
        "committed": "2",
        "closed": "2",
    }
    assert re.search(r"Total</th>\s*<td class=\"num\">13<", page)
    # The table beside the map: the same classes as the map, per government.
    governments = rows(page, "map-data", "data-iso")
    assert len(governments) == 13
    assert governments["FRA"][:2] == ["France", "Supportive"]
    assert governments["DEU"] == ["Germany", "No answer", "—", "—", "Unknown"]
    assert governments["CRI"] == ["Costa Rica", "Acted", "Acted", "—", "Supportive"]
    footer = rows(page, "map-data", "data-class")
    assert footer["acted"][1] == "7 governments" and footer["no_answer"][1] == "5 governments"
    assert footer["responded"][1] == "0 governments" and footer["not_target"][1] == "161 countries on the map"
    # Over time, overdue follow-ups by owner, signatures.
    months = rows(page, "over-time", "data-month")
    assert list(months) == ["2018-05", "2018-06", "2018-07", "2018-08", "2018-09", "2018-10"]
    assert months["2018-09"] == ["September 2018", "5", "0", "1", "7"]
    owners = dict(
        re.findall(r'<li data-owner="([^"]+)"><details><summary><strong>[^<]+</strong>:\s*(\d+) overdue', page)
    )
    assert owners == {
        "volunteer.demo@example.org": "2",
        "coordinator.demo@example.org": "1",
        "voluntaria.demo@example.org": "1",
    }
    assert "4 overdue follow-ups in all." in page and "more owner" not in page
    assert "Chase the meeting request sent to the Foreign Office." in page
    assert re.search(r'class="big-number">0<', page)


def test_matrix_cells_link_to_their_evidence(client, signed_in, demo):
    signed_in("manager")
    page = client.get(DEMO_URL + "/positions").get_data(as_text=True)
    matrix = rows(page, "matrix", "data-iso")
    assert matrix["ARG"][:3] == ["Argentina", "State Party", "Committed"]
    assert matrix["ARG"][3].startswith("Acted") and matrix["ARG"][4] == "—"
    assert matrix["FRA"][5].startswith("Supportive")
    france = demo_record(demo, "FRA")
    link = re.search(
        rf'<a href="/outreach/{france.id}#positions" title="([^"]*)">\s*<span class="stance stance-supportive">', page
    )
    assert link and "lysée communiqué" in link.group(1)
    assert "https://www.elysee.fr/" in link.group(1)


def test_the_matrix_filter_narrows_rows_and_keeps_the_export_in_step(client, signed_in, demo):
    signed_in("manager")
    positions = DEMO_URL + "/positions"
    page = client.get(positions + "?status=state_party&region=005").get_data(as_text=True)
    assert set(rows(page, "matrix", "data-iso")) == {"ARG", "CHL", "COL", "PER", "PRY"}
    assert "5 governments" in page
    assert f'href="{DEMO_URL}/matrix.csv?status=state_party&amp;region=005"' in page
    # On the dashboard, the same filter narrows the first rows shown and the link to the whole matrix;
    # the map and the stage counts still show the whole campaign.
    page = client.get(DEMO_URL + "?status=state_party&region=005").get_data(as_text=True)
    assert set(rows(page, "matrix-preview", "data-iso")) == {"ARG", "CHL", "COL", "PER", "PRY"}
    assert f'href="{positions}?status=state_party&amp;region=005"' in page
    assert f'href="{DEMO_URL}/matrix.csv?status=state_party&amp;region=005"' in page
    assert len(rows(page, "map-data", "data-iso")) == 13
    page = client.get(positions + "?status=non_party").get_data(as_text=True)
    assert "No government matches these filters." in page
    # Narrowed by stage and by who works on the record, on the page and in the export alike.
    page = client.get(positions + "?stage=meeting_held").get_data(as_text=True)
    assert set(rows(page, "matrix", "data-iso")) == {"CRI", "PRY"}
    assert f'href="{DEMO_URL}/matrix.csv?stage=meeting_held"' in page
    page = client.get(positions + "?assignee=none&response=no_answer").get_data(as_text=True)
    assert set(rows(page, "matrix", "data-iso")) == {"SWE"}
    exported = client.get(DEMO_URL + "/matrix.csv?assignee=none&response=no_answer").get_data(as_text=True)
    assert len(exported.strip().splitlines()) == 2 and "SWE" in exported
    # A bad value is ignored rather than failing the page.
    for url in (DEMO_URL, positions):
        response = client.get(url + "?region=<script>&status=nonsense&stage=x&assignee=99999&response=y&page=x")
        assert response.status_code == 200
    assert len(rows(response.get_data(as_text=True), "matrix", "data-iso")) == 13


def test_the_dashboard_shows_the_first_governments_and_links_to_the_whole_matrix(client, signed_in, demo):
    signed_in("manager")
    page = client.get(DEMO_URL).get_data(as_text=True)
    preview = rows(page, "matrix-preview", "data-iso")
    assert list(preview) == ["ARG", "CAN", "CHL", "COL", "CRI", "FRA"]
    assert preview["CRI"] == ["Costa Rica", "Acted", "Acted", "—", "Supportive"]
    assert f'href="{DEMO_URL}/positions">See the whole matrix (13 governments)' in page
    # Each response and each stage in the summary opens the matrix narrowed to it.
    responses = rows(page, "responses", "data-response")
    assert responses["acted"][1] == "7" and responses["no_answer"][1] == "5"
    assert f'href="{DEMO_URL}/positions?response=acted"' in page
    assert f'href="{DEMO_URL}/positions?stage=committed"' in page


def test_the_whole_matrix_is_paged(client, signed_in, big_campaign):
    campaign = big_campaign(60)
    signed_in("manager")
    url = f"/dashboard/{campaign.slug}/positions"
    first = client.get(url).get_data(as_text=True)
    assert len(rows(first, "matrix", "data-iso")) == 25 and "Page 1 of 3" in first and "60 governments" in first
    last = client.get(url + "?page=9").get_data(as_text=True)
    assert "Page 3 of 3" in last and len(rows(last, "matrix", "data-iso")) == 10
    assert not set(rows(last, "matrix", "data-iso")) & set(rows(first, "matrix", "data-iso"))


def test_recent_changes_show_who_did_what(client, signed_in, demo):
    user = signed_in("manager", name="Marta Gestora")
    germany = demo_record(demo, "DEU")
    outreach.record_position(
        germany, demand(demo, "icc-referral"), "opposed", utc_today(), actor=user, evidence="Declined."
    )
    db.session.commit()
    page = client.get(DEMO_URL).get_data(as_text=True)
    section = page[page.index('id="changes"') :]
    assert "Marta Gestora" in section and "Position recorded: Opposed" in section
    assert "Stage changed: Responded" in section
    assert f'href="/outreach/{germany.id}">Germany</a>' in section
    # The whole list, a page at a time.
    for stage in ("contacted", "meeting_held") * 5:
        outreach.set_stage(germany, stage, actor=user)
    db.session.commit()
    page = client.get(DEMO_URL).get_data(as_text=True)
    assert page[page.index('id="changes"') :].count("<li>") == 5
    assert f'href="{DEMO_URL}/changes">All changes</a>' in page
    every = client.get(DEMO_URL + "/changes").get_data(as_text=True)
    listed = every[every.index('<ul class="changes">') :]
    # Her position, the stage it moved the record to, and ten stage changes.
    assert listed.count("(Marta Gestora)") == 12 and "Position recorded: Opposed" in listed


def test_the_page_loads_nothing_from_elsewhere_and_needs_no_script(client, signed_in, demo):
    signed_in("manager")
    response = client.get(DEMO_URL)
    page = response.get_data(as_text=True)
    # The only scripts are the app's own files (choices and drafts of forms, in every page's head); the
    # dashboard works without them: no inline script, no style attribute.
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts and all(re.fullmatch(r'<script src="/static/js/[a-z]+\.js" defer>', s) for s in scripts)
    assert " style=" not in page and "<style" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page.split("<main", 1)[1].split('id="matrix"')[0])
    assert "/static/css/dashboard.css" in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # The map is in the page itself, drawn on the server.
    assert page.count('class="country ') == len(world_map().shapes)


def test_the_map_svg_is_well_formed_with_one_path_per_country(client, signed_in, demo, clock):
    clock.move_to(dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC))
    signed_in("admin")
    response = client.get(DEMO_URL + "/map.svg")
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == SVG + "svg"
    paths = [p for p in root.iter(SVG + "path") if "country" in p.get("class", "").split()]
    keys = [p.get("data-iso") for p in paths]
    assert len(keys) == len(set(keys)) == 174
    assert all(len(p.get("d")) > 20 and p.get("d").startswith("M") for p in paths)
    # Every country of ours that has a shape is drawn exactly once, keyed by its ISO numeric code.
    numeric = set(db.session.scalars(sa.select(Country.numeric_code).where(Country.numeric_code.is_not(None))))
    drawn = {key for key in keys if key.isdigit()}
    assert drawn <= numeric and len(drawn) == 173 and "XKX" in keys
    by_key = {p.get("data-iso"): p for p in paths}
    argentina, france, venezuela = by_key["032"], by_key["250"], by_key["862"]
    assert argentina.find(SVG + "title").text == "Argentina: Acted"
    assert france.find(SVG + "title").text == "France: Supportive"
    # A notified withdrawal from the Rome Statute is outlined (dashed) and named, and the legend counts them.
    assert venezuela.find(SVG + "title").text == (
        "Venezuela: Not a target · State Party — withdrawal takes effect 24 Jul 2027"
    )
    assert venezuela.get("stroke-dasharray") and not france.get("stroke-dasharray")
    # Niger, Burkina Faso, Mali, Venezuela and Chad (Nauru, the sixth, is too small to draw at this scale).
    assert sum(1 for p in paths if p.get("stroke-dasharray")) == 5
    assert "no_answer" in by_key["276"].get("class") and by_key["276"].get("fill") == "url(#map-no_answer)"
    patterns = {p.get("id") for p in root.iter(SVG + "pattern")}
    assert {"map-no_answer", "map-responded"} <= patterns
    legend = " ".join(t.text for t in root.iter(SVG + "text"))
    for label in (
        "Acted (7)",
        "Supportive (1)",
        "Responded (0)",
        "No answer (5)",
        "Not a target (161)",
        "Rome Statute withdrawal pending (5)",
    ):
        assert label in legend
    assert not any(el.get("style") for el in root.iter()) and root.find(f".//{SVG}script") is None


def test_the_page_draws_the_map_from_a_shapes_file_kept_for_good(client, signed_in, demo):
    from crm.dashboard.maps import shapes_file

    signed_in("manager")
    page = client.get(DEMO_URL).get_data(as_text=True)
    data, fingerprint = shapes_file()
    url = f"/dashboard/shapes-{fingerprint}.svg"
    assert page.count(f'<use href="{url}#c') == len(world_map().shapes) and " d=" not in page
    # The outlines are the same for everyone: served without sign-in, cached for good under a URL that
    # names their content; any other name is not found.
    client.post("/logout")
    response = client.get(url)
    assert response.status_code == 200 and response.data == data and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/dashboard/shapes-0000000000000000.svg").status_code == 404


def test_the_map_speaks_spanish(client, signed_in, demo):
    signed_in("manager", language="es")
    root = ET.fromstring(client.get(DEMO_URL + "/map.svg").data)
    titles = {p.get("data-iso"): p.find(SVG + "title").text for p in root.iter(SVG + "path")}
    assert titles["276"].startswith("Alemania: ")


def test_months_are_named_as_the_reader_says_them(client, signed_in, demo):
    signed_in("manager", language="es")
    page = client.get(DEMO_URL).get_data(as_text=True)
    months = rows(page, "over-time", "data-month")
    assert [cells[0] for cells in months.values()][:2] == ["mayo de 2018", "junio de 2018"]
    assert "<title>mayo de 2018:" in page


def test_the_responses_over_time_show_the_last_two_years_with_every_month_a_link_away(client, signed_in, demo):
    """The demo's series runs from May 2018 to October 2018; Germany opposing the referral in March 2021
    stretches it to 35 months. The page shows its last 24 (April 2019 to March 2021), and all 35 a click away."""
    manager = signed_in("manager")
    outreach.record_position(
        demo_record(demo, "DEU"), demand(demo, "icc-referral"), "opposed", dt.date(2021, 3, 9), actor=manager
    )
    db.session.commit()
    page = client.get(DEMO_URL).get_data(as_text=True)
    months = rows(page, "over-time", "data-month")
    assert len(months) == 24 and next(iter(months)) == "2019-04" and list(months)[-1] == "2021-03"
    assert months["2021-03"] == ["March 2021", "4", "1", "1", "7"]
    bars = re.findall(r"<g><title>([^:<]+):", page)  # the chart's, one per month
    assert len(bars) == 24 and bars[0] == "April 2019" and bars[-1] == "March 2021"
    link = re.search(r'The chart and its table show the last two years\. <a href="([^"]+)"', page).group(1)
    assert link == DEMO_URL + "?months=all#over-time"
    every = rows(client.get(link).get_data(as_text=True), "over-time", "data-month")
    assert len(every) == 35 and next(iter(every)) == "2018-05" and every["2021-03"] == months["2021-03"]
    # Without the link when there is nothing more to see.
    assert "show the last two years" not in client.get(DEMO_URL + "?months=all").get_data(as_text=True)


def test_a_short_series_is_shown_whole_without_a_link(client, signed_in, demo):
    signed_in("manager")
    page = client.get(DEMO_URL).get_data(as_text=True)
    assert len(rows(page, "over-time", "data-month")) == 6 and "Show every month" not in page


def test_the_page_shows_signature_totals(client, signed_in, demo):
    from crm.countries.services import country_by_code
    from crm.signatures.models import Petition, Signature, SignatureTally

    signed_in("manager")
    petition = Petition(campaign_id=demo.id, slug="demo-petition", name="Firmas por Venezuela")
    db.session.add(petition)
    db.session.flush()
    spain = country_by_code("ESP")
    for index in range(3):
        db.session.add(
            Signature(campaign_id=demo.id, petition_id=petition.id, email_hash=f"{index:064x}", country_id=spain.id)
        )
    db.session.add(
        SignatureTally(
            petition_id=petition.id, country_id=country_by_code("CHL").id, signers=1204, as_of=dt.date(2018, 6, 1)
        )
    )
    db.session.commit()
    page = client.get(DEMO_URL).get_data(as_text=True)
    assert re.search(r'class="big-number">1,207<', page)
    assert rows(page, "signatures-countries", "data-iso") == {"CHL": ["Chile", "1,204"], "ESP": ["Spain", "3"]}
    assert "Firmas por Venezuela" in page


def _dashboard_queries(client, count_queries, url):
    client.get(url)  # warm: first-request work (the map file) is not what is measured
    queries, response = count_queries(lambda: client.get(url))
    assert response.status_code == 200
    return queries


def test_query_count_does_not_grow_with_the_governments(client, signed_in, big_campaign, count_queries):
    signed_in("manager")
    campaign = big_campaign(10)
    url = f"/dashboard/{campaign.slug}"
    small = {
        path: _dashboard_queries(client, count_queries, url + path)
        for path in ("", "/map.svg", "/matrix.csv", "/outreach.csv")
    }
    big_campaign(200)
    large = {
        path: _dashboard_queries(client, count_queries, url + path)
        for path in ("", "/map.svg", "/matrix.csv", "/outreach.csv")
    }
    assert small == large
    page = client.get(url).get_data(as_text=True)
    assert len(rows(page, "map-data", "data-iso")) == 200


def test_all_changes_are_paged_without_counting_the_history(client, signed_in, demo, monkeypatch):
    from crm.dashboard import services as dashboards

    monkeypatch.setattr(dashboards.changes_page, "__defaults__", (4,))  # four changes a page
    user = signed_in("manager")
    germany = demo_record(demo, "DEU")
    for stage in ("meeting_held", "contacted") * 3:  # six changes (it stands at "contacted"): a page and a part
        outreach.set_stage(germany, stage, actor=user)
    db.session.commit()
    # After the demo's own history (loaded through the services, audited like anyone's work).
    total = len(dashboards.recent_changes(demo, limit=10_000))
    last = -(-total // 4)

    def listed(page, who=None):
        body = page.get_data(as_text=True)
        body = body[body.index("<h1>") :]
        return body.count('<li><span class="when">') if who is None else body.count(f'<span class="who">({who})')

    first = client.get(DEMO_URL + "/changes")
    assert listed(first) == listed(first, user.name) == 4
    assert f'href="{DEMO_URL}/changes?page=2"' in first.get_data(as_text=True)
    second = client.get(DEMO_URL + "/changes?page=2")
    assert listed(second) == 4 and listed(second, user.name) == 2
    final = client.get(DEMO_URL + f"/changes?page={last}")
    assert listed(final) == total - 4 * (last - 1) and f"changes?page={last + 1}" not in final.get_data(as_text=True)
    for bad in ("0", "-3", "abc"):
        assert listed(client.get(DEMO_URL + f"/changes?page={bad}")) == 4
    beyond = client.get(DEMO_URL + "/changes?page=9999")
    assert beyond.status_code == 200 and listed(beyond) == 0 and "&larr; Previous" in beyond.get_data(as_text=True)
    assert client.get(DEMO_URL + f"/changes?page={2**62}").status_code == 400


def test_the_owners_beyond_the_first_are_counted_and_sent_to_the_follow_ups(client, signed_in, demo, monkeypatch):
    from crm.dashboard import services as dashboards

    monkeypatch.setattr(dashboards, "OVERDUE_OWNERS", 2)
    signed_in("manager")
    page = client.get(DEMO_URL).get_data(as_text=True)
    section = page[page.index('id="overdue"') : page.index('id="changes"')]
    assert section.count("<li data-owner=") == 2
    assert "And 1 more owner with overdue follow-ups." in section and "4 overdue follow-ups in all." in section
    assert 'href="/follow-ups">All follow-ups</a>' in section


def test_the_overdue_follow_ups_are_listed_anew_once_one_is_done_and_in_the_readers_language(client, signed_in, demo):
    from crm.outreach.models import FollowUp

    def owners(page):
        return dict(re.findall(r'<li data-owner="([^"]+)"><details><summary><strong>[^<]+</strong>:\s*(\d+) ', page))

    manager = signed_in("manager")
    first = client.get(DEMO_URL).get_data(as_text=True)
    assert owners(first)["coordinator.demo@example.org"] == "1"
    note = "Chase the meeting request sent to the Foreign Office."
    follow_up = db.session.scalar(sa.select(FollowUp).where(FollowUp.note == note))
    outreach.complete_follow_up(follow_up, actor=manager)
    db.session.commit()
    again = client.get(DEMO_URL).get_data(as_text=True)
    assert note not in again and sum(map(int, owners(again).values())) == sum(map(int, owners(first).values())) - 1
    client.post("/language", data={"language": "es"})
    spanish = client.get(DEMO_URL).get_data(as_text=True)
    assert owners(spanish) == owners(again) and " vencido" in spanish.split('id="overdue"')[1]


def test_filters_not_given_are_no_choice_and_bad_ones_are_ignored(app):
    from flask import request

    from crm.dashboard.forms import MatrixFilterForm

    with app.test_request_context("/dashboard/x?status=state_party&stage=nonsense"):
        form = MatrixFilterForm(request.args)
        assert form.validate() is False  # the stage is no stage of ours
        assert form.filters() == {"status": "state_party"}
        # A filter not given is no error to word: nothing is checked, nothing is selected.
        assert form.response.errors == form.region.errors == [] and form.response.data is None
        assert form.stage.errors


def test_the_filters_show_what_each_visit_asks_for_in_the_readers_words(client, signed_in, demo):
    """The filter's fields are drawn once for each set of what they show (forms.filter_fields): a visit asking
    for another value, a wrong one, another language or a new member of staff gets its own."""
    from crm.accounts.models import User

    def filters(page):
        return page.split('role="search">')[1].split("</form>")[0]

    signed_in("manager")
    plain = filters(client.get(DEMO_URL).get_data(as_text=True))
    assert "selected" not in plain.replace('<option selected value="">', "")
    chosen = filters(client.get(DEMO_URL + "?stage=meeting_held").get_data(as_text=True))
    assert '<option selected value="meeting_held">' in chosen and "has-error" not in chosen
    wrong = filters(client.get(DEMO_URL + "?stage=nonsense").get_data(as_text=True))
    assert 'id="stage-error"' in wrong and 'aria-invalid="true"' in wrong
    assert filters(client.get(DEMO_URL).get_data(as_text=True)) == plain
    staff = db.session.scalar(sa.select(User).where(User.active.is_(True)).order_by(User.id))
    staff.name = "Renamed Staff Member"
    db.session.commit()
    renamed = filters(client.get(DEMO_URL).get_data(as_text=True))
    assert "Renamed Staff Member" in renamed and renamed != plain
    client.post("/language", data={"language": "es"})
    spanish = filters(client.get(DEMO_URL).get_data(as_text=True))
    assert "Cualquiera" in spanish and "Any" not in spanish
