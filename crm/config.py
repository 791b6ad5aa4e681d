"""Configuration read from the environment, with safe defaults for development."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import limits
import limits.storage


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting in the environment that cannot be used; the message names it."""


def _rate(name: str, default: str) -> str:
    """A rate limit as Flask-Limiter reads it ("600 per minute", "10/second")."""
    value = (os.environ.get(name) or "").strip() or default
    try:
        limits.parse(value)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '600 per minute', not {value!r}") from None
    return value


def _rate_store(name: str) -> str:
    """Where Flask-Limiter counts requests: memory:// (per process) or a shared store such as redis://."""
    value = (os.environ.get(name) or "").strip() or "memory://"
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme.startswith("async+") or scheme not in limits.storage.SCHEMES:
        raise ConfigError(f"{name} must be a store such as 'memory://' or 'redis://host:6379/0', not {value!r}")
    return value


def _int(name: str, default: int, minimum: int = 1) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {value!r}")
    return number


def normalise_database_url(url: str) -> str:
    """Accept both postgresql:// and postgresql+psycopg:// (and the old postgres://); always use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once into the instance folder (mode 0600)."""
    from_env = os.environ.get("SECRET_KEY")
    if from_env:
        return from_env
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def from_environment(instance_path: str, skip_secret: bool = False) -> dict:
    """Every setting the app reads, in one place."""
    development = os.environ.get("ALCANCE_ENV", "production").strip().lower() == "development"
    default_db = "sqlite:///" + str(Path(instance_path) / "alcance.db")
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(os.environ.get("DATABASE_URL") or default_db),
        "SQLITE_BUSY_TIMEOUT_MS": _int("SQLITE_BUSY_TIMEOUT_MS", 15000),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SECRET_KEY": None if skip_secret else load_secret_key(instance_path),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "ALCANCE_ENV": "development" if development else "production",
        # Cookies travel only over HTTPS, except in development (make run serves plain http on loopback).
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", default=not development),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", default=not development),
        # Strict-Transport-Security over HTTPS in production (a year); 0 turns it off.
        "HSTS_MAX_AGE_SECONDS": _int("HSTS_MAX_AGE_SECONDS", 365 * 24 * 60 * 60, minimum=0),
        # How many reverse proxies in front of the app may be believed about the client's address and
        # scheme. 0 (the default): none; X-Forwarded-* headers are ignored, so nobody can forge them.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0, minimum=0),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        # Kept above ATTACHMENT_MAX_BYTES, so that a file between the two gets a message beside the
        # field rather than a bare 413 page.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 20 * 1024 * 1024),
        "ATTACHMENT_MAX_BYTES": _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        # An office document (a ZIP) may unpack to at most this much: a "zip bomb" is refused.
        "ATTACHMENT_MAX_UNPACKED_BYTES": _int("ATTACHMENT_MAX_UNPACKED_BYTES", 100 * 1024 * 1024),
        # Mail: names as Flask-Mail's own settings.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "alcance@localhost"),
        # Signatures: e-mails are kept only as an HMAC with this key. Set it before the first import and
        # never change it (a new key would count everyone again); unset, it is derived from SECRET_KEY.
        "SIGNATURE_HASH_KEY": os.environ.get("SIGNATURE_HASH_KEY") or None,
        "SIGNATURE_GMAIL_RULE": _bool("SIGNATURE_GMAIL_RULE"),
        "SIGNATURE_KEEP_NAMES": _bool("SIGNATURE_KEEP_NAMES"),
        "SIGNATURE_UPLOAD_DIR": os.environ.get("SIGNATURE_UPLOAD_DIR") or None,
        "CONTACT_UPLOAD_DIR": os.environ.get("CONTACT_UPLOAD_DIR") or None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["en", "es"],
        # Rows per page of a list: about three screens of a phone, and what a page can show within a
        # quarter of a bare request's time at an organisation's size (docs/benchmarks.md, issue 14).
        "ITEMS_PER_PAGE": 25,
        # Accounts (crm/accounts): second factor, session time-outs, sign-in throttling, password reset.
        "REQUIRE_2FA_FOR_ALL": _bool("REQUIRE_2FA_FOR_ALL"),
        "TOTP_ISSUER": os.environ.get("TOTP_ISSUER") or "Alcance",
        "SESSION_IDLE_TIMEOUT_SECONDS": _int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60),
        "SESSION_ABSOLUTE_TIMEOUT_SECONDS": _int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 60 * 60),
        "REAUTHENTICATION_MAX_AGE_SECONDS": _int("REAUTHENTICATION_MAX_AGE_SECONDS", 300),
        "LOGIN_THROTTLE_WINDOW_SECONDS": _int("LOGIN_THROTTLE_WINDOW_SECONDS", 900),
        "LOGIN_THROTTLE_ACCOUNT_LIMIT": _int("LOGIN_THROTTLE_ACCOUNT_LIMIT", 5),
        "LOGIN_THROTTLE_ADDRESS_LIMIT": _int("LOGIN_THROTTLE_ADDRESS_LIMIT", 20),
        # A browser that signed in before keeps its own failure count this long (crm/accounts/devices.py).
        "DEVICE_COOKIE_DAYS": _int("DEVICE_COOKIE_DAYS", 180),
        "PASSWORD_RESET_MAX_AGE_SECONDS": _int("PASSWORD_RESET_MAX_AGE_SECONDS", 3600),
        "PASSWORD_RESET_THROTTLE_WINDOW_SECONDS": _int("PASSWORD_RESET_THROTTLE_WINDOW_SECONDS", 3600),
        "PASSWORD_RESET_THROTTLE_ACCOUNT_LIMIT": _int("PASSWORD_RESET_THROTTLE_ACCOUNT_LIMIT", 3),
        "PASSWORD_RESET_THROTTLE_ADDRESS_LIMIT": _int("PASSWORD_RESET_THROTTLE_ADDRESS_LIMIT", 10),
        # "Forgot password" answers after this long, whether or not the address has an account.
        "PASSWORD_RESET_ANSWER_SECONDS": float(_int("PASSWORD_RESET_ANSWER_MS", 400, minimum=0)) / 1000,
        # Links in e-mail (password reset, reminders) are built on this, never on the request's Host header.
        "ALCANCE_BASE_URL": os.environ.get("ALCANCE_BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 30),
        # Outgoing webhooks (crm/webhooks) refuse a URL whose host is private, loopback, link-local or
        # otherwise not public (server-side request forgery) unless this says the admin wants them.
        "WEBHOOKS_ALLOW_PRIVATE": _bool("ALCANCE_WEBHOOKS_ALLOW_PRIVATE"),
        "WEBHOOKS_TIMEOUT_SECONDS": _int("ALCANCE_WEBHOOKS_TIMEOUT_SECONDS", 10),
        # Requests one API token may make, counted where RATELIMIT_STORAGE_URI says: memory is per process,
        # so an install with several web workers or containers names a shared store (redis://...).
        "API_RATE_LIMIT": _rate("API_RATE_LIMIT", "600 per minute"),
        "RATELIMIT_STORAGE_URI": _rate_store("RATELIMIT_STORAGE_URI"),
        # If that store stops answering, each process counts on its own until it is back: the API stays up.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "alcance",
        # The keys that encrypt columns at rest, newest first (crm/encryption.py); unset, the key generated
        # once into the instance folder.
        "DATA_ENCRYPTION_KEYS": [
            key.strip() for key in os.environ.get("ALCANCE_DATA_KEYS", "").split(",") if key.strip()
        ]
        or None,
        # The bearer token Prometheus sends to /metrics; unset, /metrics does not exist (404).
        "METRICS_TOKEN": os.environ.get("ALCANCE_METRICS_TOKEN") or None,
        # Backups (crm/backup): the archive's passphrase (else `flask backup` asks for it), and the
        # scheduled job, off unless a folder is given: one archive every so many hours, the newest kept.
        "BACKUP_PASSPHRASE": os.environ.get("ALCANCE_BACKUP_PASSPHRASE") or None,
        "BACKUP_DIR": os.environ.get("ALCANCE_BACKUP_DIR") or None,
        "BACKUP_EVERY_HOURS": _int("ALCANCE_BACKUP_EVERY_HOURS", 24, minimum=1),
        "BACKUP_KEEP": _int("ALCANCE_BACKUP_KEEP", 14, minimum=1),
        # Forms anyone may send (crm/core/public_forms.py): the least time a person takes to fill one in,
        # how long a form stays good, the largest body, and how many submissions an address (an IPv6 /64)
        # and a network (/24, /48) may make per window.
        "PUBLIC_FORM_MIN_SECONDS": _int("PUBLIC_FORM_MIN_SECONDS", 3, minimum=0),
        "PUBLIC_FORM_MAX_AGE_SECONDS": _int("PUBLIC_FORM_MAX_AGE_SECONDS", 24 * 60 * 60),
        "PUBLIC_FORM_MAX_BYTES": _int("PUBLIC_FORM_MAX_BYTES", 32 * 1024, minimum=1024),
        "PUBLIC_FORM_WINDOW_SECONDS": _int("PUBLIC_FORM_WINDOW_SECONDS", 60 * 60),
        "PUBLIC_FORM_ADDRESS_LIMIT": _int("PUBLIC_FORM_ADDRESS_LIMIT", 10),
        "PUBLIC_FORM_NETWORK_LIMIT": _int("PUBLIC_FORM_NETWORK_LIMIT", 30),
        # Joint statements: sign-ups one e-mail address may make to one statement in a day (each sends a
        # link), and how long a sign-up waits for its address to be confirmed.
        "STATEMENT_SIGNUPS_PER_EMAIL": _int("STATEMENT_SIGNUPS_PER_EMAIL", 3),
        "STATEMENT_CONFIRM_DAYS": _int("STATEMENT_CONFIRM_DAYS", 7),
        # Hosted petitions (/sign/<slug>): sign-ups one address may make to one petition per window (only the
        # first sends a link); sign-ups from one network per window past which new ones wait for a
        # coordinator instead of counting; and how long an address kept with the consent to hear again is kept.
        "HOSTED_SIGNUPS_PER_EMAIL": _int("HOSTED_SIGNUPS_PER_EMAIL", 3),
        "HOSTED_REVIEW_AFTER": _int("HOSTED_REVIEW_AFTER", 10),
        "HOSTED_ADDRESS_RETENTION_DAYS": _int("HOSTED_ADDRESS_RETENTION_DAYS", 730, minimum=1),
    }
