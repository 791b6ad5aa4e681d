"""Issue 18, embeddable: in a real browser, the campaign's own site (another site: http://localhost:<port>)
shows a hosted petition's form in a frame, a visitor signs inside the frame, and the sign-up is recorded
and its confirmation mailed, although the browser sends the frame no cookie. A site the petition does not
list cannot frame it, and no staff page can be framed at all."""

from __future__ import annotations

import http.server
import re
import subprocess
import threading

import pytest

from tests.e2e.conftest import BIN, ROOT, _free_port, served
from tests.e2e.test_joint_statement import CAMPAIGN, flask, links_sent_to, public_form_env
from tests.reminders.conftest import SMTPServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIGNER = "marta@example.org"

# Lists the frame origins of a petition; run in the install's environment.
SET_ORIGINS = """
import sys
import sqlalchemy as sa
from crm import create_app
from crm.extensions import db
from crm.signatures import hosted
from crm.signatures.models import Petition
with create_app().app_context():
    petition = db.session.scalar(sa.select(Petition).where(Petition.slug == sys.argv[1]))
    hosted.set_page(petition, texts={}, totals_by_country=False, frame_origins=sys.argv[2], actor="e2e")
    db.session.commit()
"""

STATUSES = """
import sqlalchemy as sa
from crm import create_app
from crm.extensions import db
from crm.signatures.hosted_models import HostedSignature
with create_app().app_context():
    print(" ".join(db.session.scalars(sa.select(HostedSignature.status).order_by(HostedSignature.id))))
"""


def python(env, code: str, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "-c", code, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


class CampaignSite(http.server.ThreadingHTTPServer):
    """The campaign's own site, on loopback: `pages` by path, each framing a page of Alcance."""

    def __init__(self, pages: dict[str, str]):
        pages_ = pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (the standard library's name)
                body = pages_.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "").encode())

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        # Served on 127.0.0.1, named localhost: another host name is another site for the browser.
        return f"http://localhost:{self.server_address[1]}"


def framing(src: str) -> str:
    return (
        '<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Campaña</title></head><body>'
        f'<h1>Nuestra campaña</h1><iframe id="form" title="Firma" src="{src}" width="360" height="1400"></iframe>'
        "</body></html>"
    )


@pytest.fixture(scope="module")
def install(tmp_path_factory):
    instance = tmp_path_factory.mktemp("embedded-petition")
    smtp = SMTPServer()
    smtp.start()
    port = _free_port()
    env = public_form_env(instance, smtp, port)
    flask(env, "setup")
    create = ("petitions", "create", "--campaign", CAMPAIGN, "--platform", "hosted", "--name")
    embedded = flask(env, *create, "Firma en nuestro sitio").stdout.strip()
    elsewhere = flask(env, *create, "Firma en otro sitio").stdout.strip()
    base = f"http://127.0.0.1:{port}"
    pages: dict[str, str] = {}
    site = CampaignSite(pages)
    python(env, SET_ORIGINS, embedded, site.origin)
    python(env, SET_ORIGINS, elsewhere, "https://campaign.example")
    pages["/allowed.html"] = framing(f"{base}/sign/{embedded}?lang=es")
    pages["/not-listed.html"] = framing(f"{base}/sign/{elsewhere}?lang=es")
    pages["/staff.html"] = framing(f"{base}/login")
    site.thread.start()
    try:
        with served(env, instance, port) as served_base:
            yield {"base": served_base, "env": env, "smtp": smtp, "site": site, "slug": embedded}
    finally:
        site.shutdown()
        smtp.stop()


def visitor(browser):
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="es-ES")
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    return context, page, console


def form_frame(page):
    page.wait_for_load_state("load")
    return page.frame_locator("#form")


def test_a_visitor_signs_inside_the_campaigns_site_and_the_sign_up_is_recorded(browser, install):
    context, page, _ = visitor(browser)
    page.goto(install["site"].origin + "/allowed.html")
    form = form_frame(page)
    form.locator("#name").fill("Marta Salas")
    form.locator("#email").fill(SIGNER)
    form.locator("#country").select_option("VEN")
    form.locator("#consent").check()
    page.wait_for_timeout(2100)  # a person takes longer than the form's minimum time
    form.get_by_role("button", name="Firmar", exact=True).click()
    assert "Casi listo" in form.locator("#sent").inner_text()
    frame = next(frame for frame in page.frames if frame != page.main_frame)
    assert re.search(rf"/sign/{install['slug']}\?lang=es&sent=1#sent$", frame.url), frame.url
    assert page.url == install["site"].origin + "/allowed.html"  # the visitor stayed on the campaign's site
    assert context.cookies() == []  # signed with no cookie at all, and none was left
    assert python(install["env"], STATUSES) == "pending"
    links = links_sent_to(install, SIGNER, prefix="/sign")
    assert links["confirm"].startswith(install["base"] + "/sign/confirm/")
    context.close()


def test_a_site_the_petition_does_not_list_cannot_frame_it(browser, install):
    context, page, console = visitor(browser)
    page.goto(install["site"].origin + "/not-listed.html")
    page.wait_for_timeout(500)
    assert form_frame(page).locator("#name").count() == 0
    assert any("frame-ancestors" in line for line in console), console
    context.close()


def test_a_staff_page_cannot_be_framed(browser, install):
    context, page, console = visitor(browser)
    page.goto(install["site"].origin + "/staff.html")
    page.wait_for_timeout(500)
    assert form_frame(page).locator("#email").count() == 0
    assert any("frame-ancestors" in line or "X-Frame-Options" in line for line in console), console
    context.close()
