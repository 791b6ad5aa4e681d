"""Issue 18, hosted petitions, done when: a bounded load test on loopback sends 2,000 sign-ups from 50
simulated client addresses (ten networks of five) within about a minute to two gunicorn workers on
PostgreSQL, to two hosted petitions of one campaign with addresses that repeat, then confirms every sign-up
through its link, concurrently. It shows: no 500; the rate limits refused the excess (429) and no address
or network got more than its limit through; bursts from one network were held rather than counted; and
every confirmed signature counts exactly once in the campaign, in the rows, the counts and the totals."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from crm.campaigns.models import Campaign
from crm.extensions import db
from crm.mail.models import OutboundMessage
from crm.signatures.hosted_models import HostedSignature
from crm.signatures.models import Signature, SignatureCount
from crm.signatures.petitions import create_petition
from crm.signatures.totals import totals_for
from tests.conftest import make_app, require_database, scratch_postgres_database
from tests.production.test_two_web_servers import BIN, ROOT, Browser, _environment, _gunicorn, _Inputs, _wait_for_health
from tests.reminders.conftest import SMTPServer, free_port

pytestmark = pytest.mark.slow

CLIENTS = 50
PER_CLIENT = 40  # 2,000 sign-ups
DISTINCT_EMAILS = 700
ADDRESS_LIMIT, NETWORK_LIMIT, REVIEW_AFTER = 10, 30, 10
DEADLINE_SECONDS = 300  # the bound: the sending stops here whatever is left (a minute on an idle machine)


def _address(client: int) -> str:
    return f"198.51.{100 + client // 5}.{10 + client % 5}"  # ten /24 networks, five addresses each


def _seed(url: str, tmp_path_factory) -> list[str]:
    app = make_app(url, tmp_path_factory)
    with app.app_context():
        campaign = Campaign(slug="load", name="Load")
        db.session.add(campaign)
        db.session.flush()
        slugs = [create_petition(campaign, f"Firma {n}", platform="hosted").slug for n in (1, 2)]
        db.session.commit()
        db.engine.dispose()
    return slugs


def _sign_ups(port: int, slugs: list[str], client: int, stop_at: float) -> list[tuple[int, int, str]]:
    """One simulated visitor: opens the form (its one-time token and time stamp) and sends it, PER_CLIENT
    times with different e-mail addresses, to both petitions in turn."""
    browser, forwarded = Browser(), {"X-Forwarded-For": _address(client)}
    answers = []
    for k in range(PER_CLIENT):
        if time.monotonic() > stop_at:
            break
        email = f"s{(client * PER_CLIENT + k) % DISTINCT_EMAILS}@example.org"
        # An address that comes back (35 clients later) goes to the other petition: one person on both.
        petition = slugs[(client + k) % 2]
        status, _, page = browser.get(port, f"/sign/{petition}", headers=forwarded)
        assert status == 200
        form = {**_Inputs(page).values, "name": f"Signer {k}", "email": email, "country": "VEN", "consent": "y"}
        status, _, _ = browser.request(port, "POST", f"/sign/{petition}", form=form, headers=forwarded)
        answers.append((client, status, email))
    return answers


def _confirm(port: int, path: str) -> int:
    browser = Browser()
    status, _, page = browser.get(port, path)
    if status != 200:
        return status
    return browser.request(port, "POST", path, form=_Inputs(page).values)[0]


def test_two_thousand_sign_ups_are_limited_held_and_counted_once(tmp_path, tmp_path_factory):
    require_database("postgresql")
    with scratch_postgres_database("alcance_hosted_load") as url:
        smtp = SMTPServer()
        smtp.start()
        process = None
        try:
            port = free_port()
            env = {
                **_environment(url, tmp_path / "server", smtp.port),
                "TRUSTED_PROXIES": "1",
                "PUBLIC_FORM_MIN_SECONDS": "0",
                "PUBLIC_FORM_ADDRESS_LIMIT": str(ADDRESS_LIMIT),
                "PUBLIC_FORM_NETWORK_LIMIT": str(NETWORK_LIMIT),
                "HOSTED_REVIEW_AFTER": str(REVIEW_AFTER),
                "ALCANCE_BASE_URL": f"http://127.0.0.1:{port}",
            }
            setup = subprocess.run(
                [str(BIN / "flask"), "--app", "wsgi", "setup"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert setup.returncode == 0, setup.stderr[-3000:]
            slugs = _seed(url, tmp_path_factory)
            log = tmp_path / "server.log"
            process = _gunicorn(env, port, log)
            _wait_for_health(port, process, log)

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=16) as pool:
                batches = pool.map(
                    lambda client: _sign_ups(port, slugs, client, started + DEADLINE_SECONDS), range(CLIENTS)
                )
                answers = [answer for batch in batches for answer in batch]
            elapsed = time.monotonic() - started
            statuses = Counter(status for _, status, _ in answers)
            print(f"{len(answers)} sign-ups in {elapsed:.0f} s: {dict(statuses)}")
            assert len(answers) == CLIENTS * PER_CLIENT, f"only {len(answers)} sent within the bound"
            assert not [s for s in statuses if s >= 500], statuses
            assert set(statuses) <= {302, 429}, statuses
            accepted_by_address, accepted_by_network = Counter(), Counter()
            for client, status, _ in answers:
                if status == 302:
                    accepted_by_address[_address(client)] += 1
                    accepted_by_network[_address(client).rsplit(".", 1)[0]] += 1
            assert statuses[429] > 0 and max(accepted_by_address.values()) <= ADDRESS_LIMIT
            assert max(accepted_by_network.values()) <= NETWORK_LIMIT

            app = make_app(url, tmp_path_factory)
            with app.app_context():
                bodies = db.session.scalars(
                    sa.select(OutboundMessage.body_text).where(OutboundMessage.kind == "hosted_confirmation")
                ).all()
                pending = db.session.scalar(
                    sa.select(sa.func.count()).select_from(HostedSignature).where(HostedSignature.status == "pending")
                )
                db.session.remove()
            links = [re.search(r"https?://[^/\s]+(/sign/confirm/[\w-]+)", body).group(1) for body in bodies]
            assert len(links) == pending > 0
            with ThreadPoolExecutor(max_workers=8) as pool:
                confirmations = Counter(pool.map(lambda path: _confirm(port, path), links))
            assert confirmations == {200: len(links)}, confirmations

            with app.app_context():
                campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "load"))
                by_status = dict(
                    db.session.execute(
                        sa.select(HostedSignature.status, sa.func.count()).group_by(HostedSignature.status)
                    ).all()
                )
                assert by_status.get("pending", 0) == 0 and by_status.get("held", 0) > 0
                assert by_status["confirmed"] + by_status["held"] == len(links)
                counted_people = db.session.scalar(
                    sa.select(sa.func.count(sa.distinct(HostedSignature.email_hash))).where(
                        HostedSignature.status == "confirmed"
                    )
                )
                rows = db.session.scalar(
                    sa.select(sa.func.count()).select_from(Signature).where(Signature.campaign_id == campaign.id)
                )
                cells = db.session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(SignatureCount.signers), 0)).where(
                        SignatureCount.campaign_id == campaign.id
                    )
                )
                assert counted_people == rows == cells == totals_for(campaign).total
                signed_both = defaultdict(set)
                for petition_id, email_hash in db.session.execute(
                    sa.select(HostedSignature.petition_id, HostedSignature.email_hash).where(
                        HostedSignature.status == "confirmed"
                    )
                ):
                    signed_both[email_hash].add(petition_id)
                print(
                    f"confirmed {by_status['confirmed']}, held {by_status['held']}, counted {rows}, "
                    f"on both petitions {sum(1 for p in signed_both.values() if len(p) > 1)}"
                )
                db.session.remove()
                db.engine.dispose()
            assert "Traceback" not in log.read_text()
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
            smtp.stop()
