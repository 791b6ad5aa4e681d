"""Tallies: a platform's total for one petition and one country, for platforms that give no individual
signatures, entered one at a time or from a CSV file. How they count is in crm/signatures/totals.py. Plain
functions; they flush, the caller commits."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crm import clock
from crm.audit import services as audit
from crm.countries.models import Country
from crm.database import utcnow
from crm.extensions import db
from crm.i18n import _, readers_date
from crm.signatures import importers
from crm.signatures.errors import SignatureError
from crm.signatures.importers import FileProblem
from crm.signatures.models import Petition, SignatureTally
from crm.signatures.normalise import CountryResolver
from crm.signatures.reports import Problem, problem_message
from crm.webhooks import services as webhooks

# More than everyone alive; and below what the signers column holds on both databases.
MAX_SIGNERS = 1_000_000_000


def record_tally(
    petition: Petition, country: Country, signers: int, as_of: dt.date, *, source: str | None = None, actor=None
) -> SignatureTally:
    """A platform's total for one country. It replaces the petition's earlier tally for that country
    (kept in the audit log)."""
    if signers is None or signers < 0 or signers > MAX_SIGNERS:
        raise SignatureError(_("A number of signers, zero or more."), "signers")
    if clock.not_begun_anywhere(as_of):
        raise SignatureError(_("This date is in the future."), "as_of")
    tally = db.session.scalar(
        sa.select(SignatureTally).where(
            SignatureTally.petition_id == petition.id, SignatureTally.country_id == country.id
        )
    )
    before = audit.snapshot(tally, ("signers", "as_of", "source")) if tally else None
    if tally is None:
        tally = SignatureTally(petition_id=petition.id, country_id=country.id)
        db.session.add(tally)
    elif as_of < tally.as_of:
        raise SignatureError(
            _("A newer tally (as of %(date)s) is already recorded.", date=readers_date(tally.as_of)), "as_of"
        )
    tally.signers, tally.as_of = signers, as_of
    tally.source = (source or "").strip()[:500] or None
    tally.entered_by_id = getattr(actor, "id", None)
    tally.entered_at = utcnow()
    db.session.flush()
    audit.record(
        "signature.tally",
        actor=actor,
        entity=tally,
        before=before,
        after={
            "petition_id": petition.id,
            "country": country.alpha3,
            **audit.snapshot(tally, ("signers", "as_of", "source")),
        },
    )
    if before is None or before.get("signers") != signers:
        webhooks.signature_totals_changed(
            petition, source="tally", country=country.alpha3, signers=signers, as_of=as_of.isoformat()
        )
    return tally


def import_tallies(petition: Petition, binary, *, actor=None) -> list[SignatureTally]:
    """Tallies from a CSV with the columns country, signers, as_of (YYYY-MM-DD) and optionally source. All
    or nothing: an unknown country or a bad number refuses the file."""
    try:
        reader = importers.read(binary)
    except FileProblem as error:
        raise SignatureError(problem_message(Problem.of(error)), "file") from None
    keys = {importers.header_key(name): index for index, name in enumerate(reader.shape.header)}
    needed = {
        "country": ("country", "país", "pais"),
        "signers": ("signers", "firmas", "count", "total"),
        "as_of": ("asof", "date", "fecha"),
    }
    columns = {}
    for role, names in needed.items():
        found = next((keys[importers.header_key(n)] for n in names if importers.header_key(n) in keys), None)
        if found is None:
            raise SignatureError(_("The file needs the columns country, signers and as_of."), "file")
        columns[role] = found
    source_index = keys.get("source")
    resolver = CountryResolver()
    errors, parsed = [], []
    try:
        for number, row in reader.rows:
            try:
                country_id = resolver.resolve(row[columns["country"]])
                signers = int(row[columns["signers"]].replace(",", "").replace(".", "").replace(" ", "").strip())
                as_of = dt.date.fromisoformat(row[columns["as_of"]].strip())
            except (IndexError, ValueError):
                errors.append(number)
                continue
            if not country_id or not 0 <= signers <= MAX_SIGNERS:
                errors.append(number)
                continue
            source = row[source_index] if source_index is not None and source_index < len(row) else None
            parsed.append((country_id, signers, as_of, source))
            if len(parsed) > 5_000:
                raise SignatureError(_("At most 5,000 tallies in one file."), "file")
    except FileProblem as error:
        raise SignatureError(problem_message(Problem.of(error)), "file") from None
    if errors:
        raise SignatureError(
            _(
                "Rows %(rows)s: a country that is not understood, a number that is not a whole "
                "number, or a date that is not YYYY-MM-DD. Nothing was imported.",
                rows=", ".join(str(n) for n in errors[:20]),
            ),
            "file",
        )
    countries = {c.id: c for c in db.session.scalars(sa.select(Country).where(Country.id.in_({p[0] for p in parsed})))}
    savepoint = db.session.begin_nested()
    try:
        tallies = [
            record_tally(petition, countries[country_id], signers, as_of, source=source, actor=actor)
            for country_id, signers, as_of, source in parsed
        ]
        savepoint.commit()
    except BaseException as error:
        savepoint.rollback()
        if isinstance(error, SignatureError):
            # A row refused (a date to come, a figure older than the one recorded) refuses the file: the
            # message goes beside the file, not beside a field of the one-tally form.
            raise SignatureError(str(error), "file") from None
        raise
    return tallies


def tallies_of(petition: Petition) -> list[SignatureTally]:
    return db.session.scalars(
        sa.select(SignatureTally)
        .where(SignatureTally.petition_id == petition.id)
        .options(selectinload(SignatureTally.country))
        .order_by(SignatureTally.signers.desc(), SignatureTally.id)
    ).all()
