"""Signature counts per petition, country of residence and day (the `signature_count` table): written by
every change to the signatures (file imports, webhook pushes, deletions and erasure), rebuilt from the
signatures by `rebuild_counts` (`flask signatures rebuild-counts`), read by the totals."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db
from crm.signatures.models import UNKNOWN_COUNTRY, Signature, SignatureCount

# A cell of the counts: (campaign id, petition id, country id or UNKNOWN_COUNTRY, day).
Cell = tuple[int, int, int, dt.date]


def day_expression(column, dialect: str):
    """The UTC day of a timestamp column, in SQL."""
    if dialect == "sqlite":
        return sa.func.date(column)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def day_of(signed_at: dt.datetime | None, created_at: dt.datetime) -> dt.date:
    """The day a signature counts on, as `day_expression` gives it: signed, or else taken in (UTC)."""
    moment = signed_at or created_at
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def cell_of(campaign_id, petition_id, country_id, signed_at, created_at) -> Cell:
    return (
        campaign_id,
        petition_id,
        country_id if country_id is not None else UNKNOWN_COUNTRY,
        day_of(signed_at, created_at),
    )


def _insert(dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(SignatureCount)


def _merge(statement):
    """Add to existing counts rather than fail on them."""
    return statement.on_conflict_do_update(
        index_elements=["petition_id", "country_id", "day"],
        set_={
            "signers": SignatureCount.signers + statement.excluded.signers,
            "without_email": SignatureCount.without_email + statement.excluded.without_email,
        },
    )


def add(connection, changes: Counter, without_email: Counter | None = None) -> None:
    """Add (or, with negative numbers, take away) signers per cell, on `connection`. `without_email` says
    how many of each cell's change are signatures of kind "name" (a part of `changes`, of the same sign)."""
    without_email = without_email or Counter()
    added = [
        {
            "campaign_id": c,
            "petition_id": p,
            "country_id": k,
            "day": d,
            "signers": n,
            "without_email": without_email[(c, p, k, d)],
        }
        for (c, p, k, d), n in changes.items()
        if n > 0
    ]
    if added:
        connection.execute(_merge(_insert(connection.dialect.name).values(added)))
    # Taken away: the cell exists (a row whose check would refuse a negative count is never inserted).
    removed = [
        {"p": p, "k": k, "d": d, "n": -n, "w": -without_email[(c, p, k, d)]}
        for (c, p, k, d), n in changes.items()
        if n < 0
    ]
    if removed:
        table = SignatureCount.__table__
        connection.execute(
            table.update()
            .where(
                table.c.petition_id == sa.bindparam("p"),
                table.c.country_id == sa.bindparam("k"),
                table.c.day == sa.bindparam("d"),
            )
            .values(
                signers=table.c.signers - sa.bindparam("n"), without_email=table.c.without_email - sa.bindparam("w")
            ),
            removed,
        )
        connection.execute(sa.delete(table).where(table.c.signers == 0))


def _grouped(where, dialect: str):
    day = day_expression(sa.func.coalesce(Signature.signed_at, Signature.created_at), dialect)
    country = sa.func.coalesce(Signature.country_id, UNKNOWN_COUNTRY)
    by_name = sa.func.sum(sa.case((Signature.kind == "name", 1), else_=0))
    return (
        sa.select(Signature.campaign_id, Signature.petition_id, country, day, sa.func.count(), by_name)
        .where(where)
        .group_by(Signature.campaign_id, Signature.petition_id, country, day)
    )


def _insert_grouped(where) -> None:
    dialect = db.session.get_bind().dialect.name
    columns = ["campaign_id", "petition_id", "country_id", "day", "signers", "without_email"]
    db.session.execute(_merge(_insert(dialect).from_select(columns, _grouped(where, dialect))))


def add_import(import_id: int) -> None:
    """Count the signatures an import added (every signature it brought is new: duplicates were not
    written), in one statement."""
    _insert_grouped(Signature.import_id == import_id)


def remove_import(import_id: int) -> None:
    """Take away the signatures of an import before they are deleted (an import undone)."""
    dialect = db.session.get_bind().dialect.name
    changes, without_email = Counter(), Counter()
    for campaign_id, petition_id, country_id, day, number, by_name in db.session.execute(
        _grouped(Signature.import_id == import_id, dialect)
    ):
        if isinstance(day, str):  # SQLite's date() is text
            day = dt.date.fromisoformat(day)
        cell = (campaign_id, petition_id, country_id, day)
        changes[cell] -= number
        without_email[cell] -= int(by_name or 0)
    add(db.session.connection(), changes, without_email)


def rebuild_counts(campaign=None) -> int:
    """Count the signatures again, from the signatures themselves, for one campaign or all; returns the
    number of cells written. For a database filled by other means (bulk loads, restores)."""
    delete = sa.delete(SignatureCount)
    where = sa.true()
    if campaign is not None:
        delete = delete.where(SignatureCount.campaign_id == campaign.id)
        where = Signature.campaign_id == campaign.id
    db.session.execute(delete)
    _insert_grouped(where)
    statement = sa.select(sa.func.count()).select_from(SignatureCount)
    if campaign is not None:
        statement = statement.where(SignatureCount.campaign_id == campaign.id)
    return db.session.scalar(statement)


# Signatures added or deleted through the ORM (erasure, tests, scripts) keep the counts too; imports
# and pushes write rows directly and count them themselves.
@event.listens_for(Signature, "after_insert")
def _signature_added(_mapper, connection, target):
    cell = cell_of(target.campaign_id, target.petition_id, target.country_id, target.signed_at, target.created_at)
    add(connection, Counter({cell: 1}), Counter({cell: 1}) if target.kind == "name" else None)


@event.listens_for(Signature, "after_delete")
def _signature_deleted(_mapper, connection, target):
    cell = cell_of(target.campaign_id, target.petition_id, target.country_id, target.signed_at, target.created_at)
    add(connection, Counter({cell: -1}), Counter({cell: -1}) if target.kind == "name" else None)
