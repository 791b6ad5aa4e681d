"""Webhooks to an https:// address: the receiver's certificate is checked against the trusted authorities
and against the host in the address, although the connection goes to the address that was checked when
the host was resolved (no second lookup for DNS to change in between)."""

import datetime as dt
import socket
import ssl

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crm.extensions import db
from crm.webhooks import services as webhooks
from crm.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.webhooks.test_webhooks import subscribe, verify

pytestmark = pytest.mark.usefixtures("clock")

HOST = "hooks.example.org"
# Fixed, wide validity: OpenSSL checks certificates against the real time, not the tests' frozen clock.
VALID = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2099, 12, 31, tzinfo=dt.UTC))


def _certificate(subject: str, key, issuer_name, issuer_key, *, authority: bool, names=()) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID[0])
        .not_valid_after(VALID[1])
        .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture
def tls(tmp_path):
    """An authority of the test's own, and a server context for HOST signed by it. Returns the context and
    the authority's file (what SSL_CERT_FILE names to make the system trust it)."""
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority = _certificate("Test authority", authority_key, None, None, authority=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        HOST, server_key, authority.subject, authority_key, authority=False, names=[x509.DNSName(HOST)]
    )
    chain = tmp_path / "server.pem"
    chain.write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    authority_file = tmp_path / "authority.pem"
    authority_file.write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return context, authority_file


@pytest.fixture
def host_is_loopback(monkeypatch):
    """HOST resolves to the receiver's loopback address (with the setting that allows private ones)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == HOST else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _deliver_one(admin, url) -> WebhookDelivery:
    subscribe(admin, url)
    webhooks.emit("position.changed", {"country": "FRA"})
    db.session.commit()
    webhooks.deliver_pending()
    return db.session.scalar(sa.select(WebhookDelivery))


def test_a_receiver_whose_certificate_is_trusted_gets_the_signed_event_over_tls(
    app, make_user, receiver, allow_private, tls, host_is_loopback, monkeypatch
):
    context, authority_file = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_file))
    receiver.start(tls=context)
    admin = make_user("admin")
    delivery = _deliver_one(admin, f"https://{HOST}:{receiver.port}/hooks/alcance")
    assert (delivery.status, delivery.last_error) == ("sent", None)
    secret = db.session.scalar(sa.select(WebhookSubscription.secret))
    assert verify(secret, receiver.received[0])["type"] == "position.changed"


def test_a_certificate_no_trusted_authority_signed_is_refused_and_nothing_is_sent(
    app, make_user, receiver, allow_private, tls, host_is_loopback
):
    context, _ = tls  # the system's own authorities do not know the test's
    receiver.start(tls=context)
    delivery = _deliver_one(make_user("admin"), f"https://{HOST}:{receiver.port}/hooks/alcance")
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error.startswith("SSLCertVerificationError: ")
    assert "unable to get local issuer certificate" in delivery.last_error
    assert receiver.received == []


def test_a_certificate_for_another_name_is_refused(app, make_user, receiver, allow_private, tls, monkeypatch):
    context, authority_file = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_file))
    receiver.start(tls=context)
    # The right server and a trusted certificate, but not for the name in the address.
    delivery = _deliver_one(make_user("admin"), f"https://127.0.0.1:{receiver.port}/hooks/alcance")
    assert delivery.last_error.startswith("SSLCertVerificationError: ")
    assert "IP address mismatch" in delivery.last_error
    assert receiver.received == []
