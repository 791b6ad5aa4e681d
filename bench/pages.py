"""Benchmark: each main page against a bare route of the same app and server, in the same run.

    .venv/bin/python bench/scale.py postgresql://postgres@127.0.0.1:5432/alcance_bench --create \\
        --facts /tmp/alcance-bench.json                                  # once: the data (issue 14's size)
    .venv/bin/python bench/pages.py postgresql://postgres@127.0.0.1:5432/alcance_bench /tmp/alcance-bench.json
    .venv/bin/python bench/pages.py ... --seconds 5 --rounds 2 --only contacts-search,countries-list

The app is served as in production: gunicorn with the project's configuration (`-c python:crm.serving`),
two workers, on a free loopback port, against the database bench/scale.py filled. The bench signs in as
each role it needs (the admin's and the manager's second factor with the data's TOTP key) through the
real forms, then for each page runs `wrk` (8 connections, 2 threads) on the bare route `/healthz` (no
cookie), then on the page, one after the other, so that each page has its own bare figure taken moments
before on the same server: the machine is shared, and only such ratios mean much. Printed per page:
requests/s, % of the bare route's, p50 and p99 latency, HTML size, and the statements the page runs.

Statements are counted in a separate in-process pass (the same app on the same database, Flask's test
client, a SQLAlchemy `before_cursor_execute` hook), on the second request of each page (the first may
fill per-process caches). `wrk` is Debian's package (`apt-get install wrk`); the bench is not part of
`make test`.
"""

from __future__ import annotations

import argparse
import contextvars
import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE = "/healthz"


def pages(facts: dict) -> list[tuple[str, str, str]]:
    """(name, role, path) for each page the issue measures."""
    campaign = facts["campaign"]
    return [
        ("bare-signed-in", "manager", BARE),
        ("contacts-search", "manager", f"/contacts?q={facts.get('search', 'munoz')}"),
        ("country-busiest", "manager", f"/countries/{facts['busiest_country']}"),
        ("country-typical", "manager", f"/countries/{facts['typical_country']}"),
        ("signature-totals", "manager", f"/campaigns/{campaign}/signatures"),
        ("manager-dashboard", "manager", f"/dashboard/{campaign}"),
        ("campaign-page", "manager", f"/campaigns/{campaign}"),
        ("my-work", "volunteer", "/my-work"),
        ("countries-list", "manager", "/countries/"),
        ("follow-ups", "manager", "/follow-ups?scope=all"),
        ("letter-page", "manager", f"/letters/{facts['letter_id']}"),
        ("contact-page", "manager", f"/contacts/{facts['contact_id']}"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(url: str, facts: dict, instance: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": facts["secret_key"],
            "ALCANCE_DATA_KEYS": facts["data_key"],
            "ALCANCE_INSTANCE_PATH": instance,
            "SESSION_COOKIE_SECURE": "0",
            # plain http on loopback: no HSTS, cookies without Secure (wrk sends them as given anyway)
            "HSTS_MAX_AGE_SECONDS": "0",
        }
    )
    return env


class Server:
    def __init__(self, url: str, facts: dict, workers: int = 2):
        self.port = free_port()
        self.instance = tempfile.mkdtemp(prefix="alcance-bench-pages-")
        self.log = open(Path(self.instance) / "gunicorn.log", "w")
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-c",
                "python:crm.serving",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=server_environment(url, facts, self.instance),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.get(BARE)
                if status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def request(self, method: str, path: str, body: dict | None = None, cookie: str = ""):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = {"Cookie": cookie} if cookie else {}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        cookies = [value.split(";", 1)[0] for key, value in response.getheaders() if key.lower() == "set-cookie"]
        connection.close()
        return response.status, payload, (cookies, response.getheader("Location"))

    def get(self, path: str, cookie: str = ""):
        return self.request("GET", path, cookie=cookie)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def _merge(jar: dict, cookies: list[str]) -> dict:
    for cookie in cookies:
        name, _, value = cookie.partition("=")
        jar[name] = value
    return jar


def _header(jar: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in(server: Server, email: str, password: str, totp_secret: str) -> str:
    """The session cookie of `email`, signed in through the password form and, if asked, the code form."""
    import pyotp

    jar: dict = {}
    status, body, (cookies, _) = server.get("/login")
    _merge(jar, cookies)
    token = CSRF.search(body).group(1).decode()
    status, body, (cookies, location) = server.request(
        "POST", "/login", {"email": email, "password": password, "csrf_token": token}, _header(jar)
    )
    _merge(jar, cookies)
    if status != 302:
        raise SystemExit(f"signing in {email} failed: {status}")
    if location and location.endswith("/login/2fa"):
        for _attempt in range(3):
            status, body, (cookies, _) = server.get("/login/2fa", _header(jar))
            _merge(jar, cookies)
            token = CSRF.search(body).group(1).decode()
            status, body, (cookies, location) = server.request(
                "POST", "/login/2fa", {"code": pyotp.TOTP(totp_secret).now(), "csrf_token": token}, _header(jar)
            )
            _merge(jar, cookies)
            if status == 302:
                break
            time.sleep(31 - time.time() % 30)  # a code is accepted once: wait for the next one
        else:
            raise SystemExit(f"the second factor of {email} was refused")
    return _header(jar)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(port: int, path: str, seconds: float, cookie: str = "") -> dict:
    command = ["wrk", "-t2", "-c8", f"-d{max(1, round(seconds))}s", "--timeout", "120s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(
        command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True, timeout=seconds + 300
    ).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
    }
    for label, key in (("50%", "p50"), ("99%", "p99")):
        match = re.search(rf"^\s+{label}\s+([\d.]+\w+)", output, re.MULTILINE)
        result[key] = _ms(match.group(1)) if match else None
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def settle(server: Server, limit: float = 600) -> None:
    """Wait until the workers have answered what the last run left queued (wrk stops sending, the server
    goes on with what it was sent): the next run must start on an idle server."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        started = time.monotonic()
        server.get(BARE)
        if time.monotonic() - started < 0.05:
            server.get(BARE)
            return
    raise SystemExit("the server stayed busy")


def count_statements(url: str, facts: dict, selected) -> dict[str, dict]:
    """Statements and HTML size per page, from the same app in this process (Flask's test client)."""
    instance = tempfile.mkdtemp(prefix="alcance-bench-count-")
    os.environ.update(server_environment(url, facts, instance))
    import pyotp
    import sqlalchemy as sa

    from crm import create_app
    from crm.accounts.models import User
    from crm.config import normalise_database_url
    from crm.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
            "SECRET_KEY": facts["secret_key"],
            "DATA_ENCRYPTION_KEYS": [facts["data_key"]],
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
        }
    )
    counted = {"n": 0}
    results = {}

    def fresh(call, *args, **kwargs):
        # Each request in its own context, as under gunicorn: no app context (and so no `g`, no session)
        # shared between requests.
        return contextvars.Context().run(call, *args, **kwargs)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: counted.__setitem__("n", counted["n"] + 1))
    clients = {}
    for role in {role for _, role, _ in selected}:
        client = app.test_client()
        email = facts["users"][role]
        response = fresh(client.post, "/login", data={"email": email, "password": facts["password"]})
        if response.headers.get("Location", "").endswith("/login/2fa"):
            with app.app_context():
                db.session.execute(sa.update(User).where(User.email == email).values(totp_last_step=None))
                db.session.commit()
            response = fresh(client.post, "/login/2fa", data={"code": pyotp.TOTP(facts["totp_secret"]).now()})
        assert response.status_code == 302, (role, response.status_code)
        clients[role] = client
    for name, role, path in selected:
        fresh(clients[role].get, path)
        counted["n"] = 0
        response = fresh(clients[role].get, path)
        results[name] = {"queries": counted["n"], "bytes": len(response.data), "status": response.status_code}
        if response.status_code != 200:
            print(f"  {name}: {path} answered {response.status_code}", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("facts", help="the JSON bench/scale.py wrote")
    parser.add_argument("--seconds", type=float, default=8, help="wrk's duration for each page and each bare run")
    parser.add_argument("--rounds", type=int, default=1, help="pages measured this many times (median kept)")
    parser.add_argument("--only", help="comma-separated page names")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--no-count", action="store_true", help="skip counting statements")
    parser.add_argument("--count-only", action="store_true", help="only count statements (no server, no wrk)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    facts = json.loads(Path(args.facts).read_text())
    selected = [p for p in pages(facts) if not args.only or p[0] in args.only.split(",")]
    counts = {} if args.no_count else count_statements(args.url, facts, selected)
    if args.count_only:
        for name, count in counts.items():
            print(f"| {name} | {count['queries']} | {count['bytes'] / 1024:.0f} KB | {count['status']} |")
        return
    server = Server(args.url, facts)
    results: dict[str, list] = {}
    try:
        cookies = {
            role: sign_in(server, facts["users"][role], facts["password"], facts["totp_secret"])
            for role in {role for _, role, _ in selected}
        }
        for _name, role, path in selected:  # warm up: each worker's first request of each page
            for _ in range(2):
                server.get(path, cookies[role])
        for _round in range(args.rounds):
            for name, role, path in selected:
                settle(server)
                bare = wrk(server.port, BARE, args.seconds)
                settle(server)
                page = wrk(server.port, path, args.seconds, cookies[role])
                if page["requests"] < 16:  # a slow page: give it time for a figure worth reading
                    settle(server)
                    page = wrk(server.port, path, args.seconds * 4, cookies[role])
                results.setdefault(name, []).append((bare, page))
                print(f"  {name}: {page['rps']:.1f} req/s, bare {bare['rps']:.0f}", file=sys.stderr, flush=True)
    finally:
        server.stop()

    rows = []
    for name, role, path in selected:
        runs = sorted(results[name], key=lambda run: run[1]["rps"] / max(run[0]["rps"], 1e-9))
        bare, page = runs[len(runs) // 2]
        count = counts.get(name, {})
        rows.append(
            {
                "page": name,
                "path": path,
                "role": role,
                "rps": page["rps"],
                "bare_rps": bare["rps"],
                "percent_of_bare": 100 * page["rps"] / max(bare["rps"], 1e-9),
                "p50_ms": page["p50"],
                "p99_ms": page["p99"],
                "requests": page["requests"],
                "non_2xx": page["non_2xx"],
                "queries": count.get("queries"),
                "html_bytes": count.get("bytes"),
            }
        )
    print(
        f"\n{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {facts['dialect']}, scale {facts['scale']}, "
        f"{args.seconds:g} s per run, {args.rounds} round(s)\n"
    )
    print("| page | requests/s | bare requests/s | % of bare | p50 | p99 | queries | HTML |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        flag = f" ({row['non_2xx']} non-2xx)" if row["non_2xx"] else ""
        html = f"{row['html_bytes'] / 1024:.0f} KB" if row["html_bytes"] is not None else "—"
        print(
            f"| {row['page']}{flag} | {row['rps']:.1f} | {row['bare_rps']:.0f} | {row['percent_of_bare']:.1f} % | "
            f"{_fmt(row['p50_ms'])} | {_fmt(row['p99_ms'])} | {row['queries'] if row['queries'] is not None else '—'} "
            f"| {html} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"facts": facts, "rows": rows}, indent=2))


def _fmt(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


if __name__ == "__main__":
    main()
