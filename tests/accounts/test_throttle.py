"""Sign-in throttling: per account and per address, kept in the database so that every worker counts
the same attempts, with the same answer whether or not the account exists."""

import base64

import pytest
import sqlalchemy as sa

from crm.accounts import devices, throttle
from crm.accounts.models import LoginAttempt, User
from crm.audit.models import AuditEvent
from crm.database import utcnow
from crm.extensions import db
from tests.accounts.conftest import TEST_TOTP_SECRET, code_at
from tests.conftest import TEST_PASSWORD, make_app, require_database, scratch_postgres_database

# Each test runs at every moment of tests/conftest.py's CLOCKS, with the clock standing still.
pytestmark = [pytest.mark.clocks, pytest.mark.usefixtures("clock")]

TOO_MANY = "Too many attempts. Wait a few minutes and try again."


def attempt(client, email, password="wrong password here", address="198.51.100.7"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("exists", [True, False])
def test_five_failures_hold_an_account_whether_or_not_it_exists(client, make_user, exists):
    if exists:
        make_user("volunteer", email="target@example.org")
        db.session.commit()
    for _ in range(5):
        assert attempt(client, "target@example.org").status_code == 401
    # Even the right password is not checked now, from any address.
    held = attempt(client, "Target@Example.org", TEST_PASSWORD, address="203.0.113.50")
    assert held.status_code == 429
    page = held.get_data(as_text=True)
    assert TOO_MANY in page and "E-mail or password is wrong" not in page
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.login_throttled")) == 1
    # Other accounts are not held.
    assert attempt(client, "someone.else@example.org").status_code == 401


def test_the_hold_ends_when_the_window_has_passed(client, make_user, clock):
    user = make_user("volunteer")
    db.session.commit()
    for _ in range(5):
        attempt(client, user.email)
    assert attempt(client, user.email, TEST_PASSWORD).status_code == 429
    clock.advance(minutes=15, seconds=1)
    assert attempt(client, user.email, TEST_PASSWORD).status_code == 302


def test_twenty_failures_hold_an_address(client):
    for n in range(20):
        assert attempt(client, f"guess{n}@example.org", address="192.0.2.9").status_code == 401
    assert attempt(client, "fresh@example.org", address="192.0.2.9").status_code == 429
    assert attempt(client, "fresh@example.org", address="192.0.2.10").status_code == 401


def test_ipv6_clients_are_counted_by_their_network():
    network = "2001:db8:1:2::/64"
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9") == network
    assert throttle.address_key("2001:db8:1:3::1") != throttle.address_key("2001:db8:1:2::1")
    assert throttle.address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert throttle.address_key("192.0.2.1") == "192.0.2.1"


def test_wrong_codes_count_too(client, make_user, clock):
    user = make_user("admin")
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    for _ in range(5):
        assert client.post("/login/2fa", data={"code": "000000"}).status_code == 401
    response = client.post("/login/2fa", data={"code": code_at(clock.now())})
    assert response.status_code == 429 and TOO_MANY in response.get_data(as_text=True)
    assert client.post("/login/recovery", data={"code": "0000-0000-0000-0000"}).status_code == 429


def test_old_attempts_are_deleted(app, clock):
    throttle.record("failure", "old@example.org", "192.0.2.1")
    clock.advance(days=1, seconds=1)
    throttle.record("failure", "new@example.org", "192.0.2.1")
    assert db.session.scalars(sa.select(LoginAttempt.account)).all() == ["new@example.org"]


# --- Device cookies ---------------------------------------------------------------------------------------


def sign_in_and_out(client, user, address="198.51.100.20", *, totp_at=None) -> None:
    response = attempt(client, user.email, TEST_PASSWORD, address=address)
    if totp_at is not None:
        response = client.post("/login/2fa", data={"code": code_at(totp_at)}, environ_base={"REMOTE_ADDR": address})
    assert response.status_code == 302, response.status_code
    assert client.post("/logout").status_code == 302


def test_a_browser_that_signed_in_before_is_not_held_back_by_failures_from_elsewhere(app, client, make_user):
    """Someone who knows a defender's address can hold the account shut to new browsers, not to hers."""
    user = make_user("volunteer", email="defender@example.org")
    db.session.commit()
    sign_in_and_out(client, user)
    cookie = client.get_cookie(devices.COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    readable = base64.urlsafe_b64decode(cookie.value.split(".")[0] + "==").decode()
    assert '"device"' in readable and "defender" not in readable
    attacker, new_browser = app.test_client(), app.test_client()
    for _ in range(5):
        assert attempt(attacker, user.email, address="203.0.113.66").status_code == 401
    assert attempt(attacker, user.email, TEST_PASSWORD, address="203.0.113.66").status_code == 429
    assert attempt(new_browser, user.email, TEST_PASSWORD).status_code == 429

    assert attempt(client, user.email, TEST_PASSWORD, address="203.0.113.66").status_code == 302
    # The attacker's failures were counted for unknown clients only, none for her browser.
    assert db.session.scalar(sa.select(sa.func.count()).where(LoginAttempt.device.is_not(None))) == 0


def test_a_known_browser_has_a_limit_of_its_own(app, client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in_and_out(client, user)
    for _ in range(5):
        assert attempt(client, user.email).status_code == 401
    assert attempt(client, user.email, TEST_PASSWORD).status_code == 429
    # Those five were its own: other browsers are not held by them.
    assert attempt(app.test_client(), user.email, TEST_PASSWORD).status_code == 302


def test_the_cookie_counts_only_for_its_own_account_and_only_as_signed(app, client, make_user):
    user, other = make_user("volunteer"), make_user("volunteer")
    db.session.commit()
    sign_in_and_out(client, user)
    for _ in range(5):
        attempt(app.test_client(), other.email)
    # The cookie is for `user`: typing another account name, the browser is an unknown client.
    assert attempt(client, other.email, TEST_PASSWORD).status_code == 429
    for _ in range(5):
        attempt(app.test_client(), user.email)
    value = client.get_cookie(devices.COOKIE).value
    for forged in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), "not-a-signed-value"):
        client.set_cookie(devices.COOKIE, forged)
        assert attempt(client, user.email, TEST_PASSWORD).status_code == 429
    client.set_cookie(devices.COOKIE, value)
    assert attempt(client, user.email, TEST_PASSWORD).status_code == 302


def test_the_second_factor_step_knows_the_browser_too(app, client, make_user, clock):
    user = make_user("admin")
    db.session.commit()
    sign_in_and_out(client, user, totp_at=clock.now())
    attacker = app.test_client()
    attempt(attacker, user.email, TEST_PASSWORD)  # the password is known to them: only codes are left
    for _ in range(5):
        assert attacker.post("/login/2fa", data={"code": "000000"}).status_code == 401
    clock.advance(seconds=30)
    assert attempt(client, user.email, TEST_PASSWORD).status_code == 302
    assert client.post("/login/2fa", data={"code": code_at(clock.now())}).status_code == 302


def test_the_device_cookie_is_secure_where_the_session_cookie_is(app, client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        response = attempt(client, user.email, TEST_PASSWORD)
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(devices.COOKIE + "=")]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


# --- Two workers ----------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request, tmp_path):
    """An empty database of its own: the two workers below commit for real."""
    require_database(request.param)
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "workers.db")
        return
    with scratch_postgres_database("alcance_workers") as url:
        yield url


def test_login_throttling_holds_across_two_workers(shared_database, tmp_path_factory):
    """Two app instances (two workers, as gunicorn runs them) on one database: failures seen by either
    count for both, and both answer 429."""
    first, second = make_app(shared_database, tmp_path_factory), make_app(shared_database, tmp_path_factory)
    with first.app_context():
        db.create_all()
        user = User(email="worker@example.org", name="Worker", role="admin")
        user.set_password(TEST_PASSWORD)
        user.totp_secret = TEST_TOTP_SECRET
        user.totp_enabled_at = utcnow()
        db.session.add(user)
        db.session.commit()
    try:
        one, two = first.test_client(), second.test_client()
        for client in (one, two, one, two, one):
            assert attempt(client, "worker@example.org", address="192.0.2.77").status_code == 401
        assert attempt(two, "worker@example.org", TEST_PASSWORD, address="192.0.2.78").status_code == 429
        assert attempt(one, "worker@example.org", TEST_PASSWORD, address="192.0.2.79").status_code == 429
        # The address limit is shared too.
        for n in range(15):
            attempt(one if n % 2 else two, f"other{n}@example.org", address="192.0.2.77")
        assert attempt(two, "fresh@example.org", address="192.0.2.77").status_code == 429
        with second.app_context():
            counted = db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))
            assert counted == 20
    finally:
        for worker in (first, second):
            with worker.app_context():
                db.session.remove()
                if worker is first:
                    db.drop_all()
                db.engine.dispose()


def test_parallel_guesses_get_no_more_tries_than_the_limit(shared_database, tmp_path_factory):
    """Twelve wrong passwords for one account at the same moment, from as many threads with their own
    connections: exactly the limit (5) is checked, the rest are held, and 5 failures are counted. The
    check and the count are one step; otherwise every guess passes the check before any is counted."""
    import threading

    app = make_app(shared_database, tmp_path_factory)
    with app.app_context():
        db.create_all()
        user = User(email="target@example.org", name="Target", role="volunteer")
        user.set_password(TEST_PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    guesses = 12
    start = threading.Barrier(guesses)
    answers, errors = [], []

    def guess(n):
        try:
            client = app.test_client()
            start.wait(timeout=30)
            answers.append(
                attempt(client, "target@example.org", f"wrong guess number {n}", address=f"192.0.2.{n + 1}").status_code
            )
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert sorted(answers) == [401] * 5 + [429] * (guesses - 5)
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 5
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
