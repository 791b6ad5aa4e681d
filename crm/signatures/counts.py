"""Signature counts per petition, country of residence and day (the `signature_count` table), and the same
counts summed per petition and country (`signature_total`), per campaign and day (`signature_day`) and per
campaign (`signature_campaign_total`), with the overlaps of signers of both kinds (`signature_overlap`, and
their sum on the campaign's row): written together by every change to the
signatures (file imports and their undoing, webhook pushes, hosted petitions' sign-ups and withdrawals,
erasure), rebuilt from the signatures by `rebuild_counts` (`flask signatures rebuild-counts`), read by the
totals. Tallies are not in them: the totals read the few tallies themselves."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from crm.extensions import db
from crm.signatures.models import (
    UNKNOWN_COUNTRY,
    Petition,
    Signature,
    SignatureCampaignTotal,
    SignatureCount,
    SignatureDay,
    SignatureOverlap,
    SignatureTotal,
)

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


# Each table of counts kept by the writes, with its key: the cell's parts it sums over (every table sums the
# same cells, so each write changes them together and each is the sum of signature_count's rows).
KEPT = (
    (SignatureCount, ("petition_id", "country_id", "day")),
    (SignatureTotal, ("petition_id", "country_id")),
    (SignatureDay, ("campaign_id", "day")),
    (SignatureCampaignTotal, ("campaign_id",)),
)
_PART = {"campaign_id": 0, "petition_id": 1, "country_id": 2, "day": 3}
CHUNK = 1000


def _insert(model, dialect: str):
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def _merge(model, key, statement):
    """Add to existing counts rather than fail on them."""
    summed = [c for c in ("signers", "without_email") if c in model.__table__.c]
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={c: getattr(model, c) + getattr(statement.excluded, c) for c in summed}
    )


def _write(connection, model, key, changes: Counter, without_email: Counter) -> None:
    """Add `changes` (per cell, with `without_email` the part of each of kind "name") to `model`'s rows,
    summed by its key: rows that grow are inserted or added to, rows that shrink exist already (a row
    whose check would refuse a negative count is never inserted), rows that reach 0 are deleted."""
    table = model.__table__
    named = "without_email" in table.c
    columns = ("campaign_id", *(c for c in key if c != "campaign_id"))
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for cell, number in changes.items():
        row = summed[tuple(cell[_PART[c]] for c in columns)]
        row[0] += number
        row[1] += without_email[cell]

    def values(parts, number, by_name):
        return {
            **dict(zip(columns, parts, strict=True)),
            "signers": number,
            **({"without_email": by_name} if named else {}),
        }

    # In the order of their keys, so that two writes lock the rows they share in the same order.
    added = [values(parts, n, w) for parts, (n, w) in sorted(summed.items()) if n > 0]
    # In statements of a thousand rows: a file of years of signatures from everywhere has tens of thousands
    # of cells, more than the parameters one statement may carry (65,535 on PostgreSQL, fewer on some SQLite).
    for start in range(0, len(added), CHUNK):
        chunk = added[start : start + CHUNK]
        connection.execute(_merge(model, key, _insert(model, connection.dialect.name).values(chunk)))
    removed = [values(parts, -n, -w) for parts, (n, w) in sorted(summed.items()) if n < 0]
    if removed:
        same = [table.c[c] == sa.bindparam(f"k_{c}") for c in key]
        taken = {"signers": table.c.signers - sa.bindparam("n")}
        if named:
            taken["without_email"] = table.c.without_email - sa.bindparam("w")
        keys = [
            {f"k_{c}": row[c] for c in key} | {"n": row["signers"]} | ({"w": row["without_email"]} if named else {})
            for row in removed
        ]
        connection.execute(table.update().where(*same).values(taken), keys)
        connection.execute(sa.delete(table).where(*same, table.c.signers == 0), keys)


def _of_campaign_country(campaign_id: int, country_id: int):
    """signature_count's rows of one campaign and country, through its key (petition, country, day)."""
    petitions = sa.select(Petition.id).where(Petition.campaign_id == campaign_id)
    table = SignatureCount.__table__
    return (table.c.petition_id.in_(petitions), table.c.country_id == country_id)


def _refresh_overlap(connection, campaign_id: int, country_id: int, since: dt.date | None) -> None:
    """Work out again, from signature_count, by how much the smaller kind of signers of one country grew on
    each day from `since` (every day when None): signers by address and by name and place, so far."""
    table, overlap = SignatureCount.__table__, SignatureOverlap.__table__
    where = _of_campaign_country(campaign_id, country_id)
    by_email = sa.func.coalesce(sa.func.sum(table.c.signers - table.c.without_email), 0)
    by_name = sa.func.coalesce(sa.func.sum(table.c.without_email), 0)
    email, name = 0, 0
    forget = sa.delete(overlap).where(overlap.c.campaign_id == campaign_id, overlap.c.country_id == country_id)
    days = sa.select(table.c.day, by_email, by_name).where(*where).group_by(table.c.day).order_by(table.c.day)
    if since is not None:
        email, name = connection.execute(sa.select(by_email, by_name).where(*where, table.c.day < since)).one()
        forget = forget.where(overlap.c.day >= since)
        days = days.where(table.c.day >= since)
    connection.execute(forget)
    common, grew = min(email, name), []
    for day, more_by_email, more_by_name in connection.execute(days):
        email, name = email + more_by_email, name + more_by_name
        if min(email, name) > common:
            grew.append({"campaign_id": campaign_id, "country_id": country_id, "day": day})
            grew[-1]["signers"] = min(email, name) - common
            common = min(email, name)
    if grew:
        connection.execute(sa.insert(overlap), grew)


def _keep_overlaps(connection, changes: Counter) -> None:
    """After `changes`, the overlaps of the countries they touched, from the first day they touched: only
    where a country now has both kinds of signers (one query says which), or had (a removal)."""
    since: dict[tuple[int, int], dt.date] = {}
    for campaign_id, _petition_id, country_id, day in changes:
        if (campaign_id, country_id) not in since or day < since[(campaign_id, country_id)]:
            since[(campaign_id, country_id)] = day
    if not since:
        return
    total = SignatureTotal.__table__
    both = {
        (campaign_id, country_id)
        for campaign_id, country_id in connection.execute(
            sa.select(total.c.campaign_id, total.c.country_id)
            .where(
                total.c.campaign_id.in_({c for c, _ in since}),
                total.c.country_id.in_({k for _, k in since}),
            )
            .group_by(total.c.campaign_id, total.c.country_id)
            .having(sa.func.sum(total.c.signers - total.c.without_email) > 0, sa.func.sum(total.c.without_email) > 0)
        )
    }
    for (campaign_id, country_id), day in since.items():
        if (campaign_id, country_id) in both:
            _refresh_overlap(connection, campaign_id, country_id, day)
    touched = {campaign_id for campaign_id, _country_id in both}
    if any(n < 0 for n in changes.values()):
        overlap = SignatureOverlap.__table__
        left = [{"c": c, "k": k} for c, k in since if (c, k) not in both]
        if left:
            connection.execute(
                sa.delete(overlap).where(
                    overlap.c.campaign_id == sa.bindparam("c"), overlap.c.country_id == sa.bindparam("k")
                ),
                left,
            )
            touched |= {row["c"] for row in left}
    if touched:
        _sum_overlaps(connection, touched)


def _sum_overlaps(connection, campaign_ids) -> None:
    """The overlaps of these campaigns summed again onto their rows of signature_campaign_total (a campaign
    with no signers has no row, and no overlaps)."""
    total, overlap = SignatureCampaignTotal.__table__, SignatureOverlap.__table__
    summed = (
        sa.select(sa.func.coalesce(sa.func.sum(overlap.c.signers), 0))
        .where(overlap.c.campaign_id == total.c.campaign_id)
        .scalar_subquery()
    )
    connection.execute(total.update().where(total.c.campaign_id.in_(sorted(campaign_ids))).values(overlap=summed))


def _keep(connection, changes: Counter, without_email: Counter, tables=KEPT) -> None:
    changes = Counter({cell: n for cell, n in changes.items() if n})
    if connection.dialect.name == "postgresql":
        # One write to a campaign's counts at a time (SQLite writes one at a time anyway): an overlap is
        # worked out again from signature_count as this transaction sees it, so a concurrent write to the
        # same country on another day must be committed first, and seen.
        for campaign_id in sorted({cell[0] for cell in changes}):
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                {"name": f"alcance.signature-counts:{campaign_id}"},
            )
    for model, key in tables:
        _write(connection, model, key, changes, without_email)
    _keep_overlaps(connection, changes)


def add(connection, changes: Counter, without_email: Counter | None = None) -> None:
    """Add (or, with negative numbers, take away) signers per cell, on `connection`, in every table of counts.
    `without_email` says how many of each cell's change are signatures of kind "name" (a part of
    `changes`, of the same sign)."""
    _keep(connection, changes, without_email or Counter())


def _grouped(where, dialect: str):
    day = day_expression(sa.func.coalesce(Signature.signed_at, Signature.created_at), dialect)
    country = sa.func.coalesce(Signature.country_id, UNKNOWN_COUNTRY)
    by_name = sa.func.sum(sa.case((Signature.kind == "name", 1), else_=0))
    return (
        sa.select(Signature.campaign_id, Signature.petition_id, country, day, sa.func.count(), by_name)
        .where(where)
        .group_by(Signature.campaign_id, Signature.petition_id, country, day)
    )


def _cells_of(where, sign: int) -> tuple[Counter, Counter]:
    """The signatures `where` selects, per cell, as changes of sign `sign`: (signers, of them by name)."""
    dialect = db.session.get_bind().dialect.name
    changes, without_email = Counter(), Counter()
    for campaign_id, petition_id, country_id, day, number, by_name in db.session.execute(_grouped(where, dialect)):
        if isinstance(day, str):  # SQLite's date() is text
            day = dt.date.fromisoformat(day)
        cell = (campaign_id, petition_id, country_id, day)
        changes[cell] += sign * number
        without_email[cell] += sign * int(by_name or 0)
    return changes, without_email


def add_import(import_id: int) -> None:
    """Count the signatures an import added (every signature it brought is new: duplicates were not
    written): one query groups them per cell, a few statements write the cells."""
    add(db.session.connection(), *_cells_of(Signature.import_id == import_id, 1))


def remove_import(import_id: int) -> None:
    """Take away the signatures of an import before they are deleted (an import undone)."""
    add(db.session.connection(), *_cells_of(Signature.import_id == import_id, -1))


def rebuild_kept(campaign=None) -> None:
    """Sum signature_count again into the tables kept beside it (per petition and country, per day, per
    campaign, and the overlaps), for one campaign or all: after signature_count was rebuilt or written by other means."""
    connection = db.session.connection()
    count = SignatureCount.__table__
    scope = count.c.campaign_id == campaign.id if campaign is not None else sa.true()
    for model in (SignatureTotal, SignatureDay, SignatureCampaignTotal, SignatureOverlap):
        delete = sa.delete(model)
        connection.execute(delete.where(model.campaign_id == campaign.id) if campaign is not None else delete)
    sums = (sa.func.sum(count.c.signers), sa.func.sum(count.c.without_email))
    parts = (count.c.campaign_id, count.c.petition_id, count.c.country_id)
    connection.execute(
        sa.insert(SignatureTotal).from_select(
            ["campaign_id", "petition_id", "country_id", "signers", "without_email"],
            sa.select(*parts, *sums).where(scope).group_by(*parts),
        )
    )
    connection.execute(
        sa.insert(SignatureDay).from_select(
            ["campaign_id", "day", "signers"],
            sa.select(count.c.campaign_id, count.c.day, sums[0])
            .where(scope)
            .group_by(count.c.campaign_id, count.c.day),
        )
    )
    connection.execute(
        sa.insert(SignatureCampaignTotal).from_select(
            ["campaign_id", "signers"],
            sa.select(count.c.campaign_id, sums[0]).where(scope).group_by(count.c.campaign_id),
        )
    )
    total = SignatureTotal.__table__
    both = connection.execute(
        sa.select(total.c.campaign_id, total.c.country_id)
        .where(total.c.campaign_id == campaign.id if campaign is not None else sa.true())
        .group_by(total.c.campaign_id, total.c.country_id)
        .having(sa.func.sum(total.c.signers - total.c.without_email) > 0, sa.func.sum(total.c.without_email) > 0)
    ).all()
    for campaign_id, country_id in both:
        _refresh_overlap(connection, campaign_id, country_id, None)
    if both:
        _sum_overlaps(connection, {campaign_id for campaign_id, _country_id in both})


def rebuild_counts(campaign=None) -> int:
    """Count the signatures again, from the signatures themselves, for one campaign or all, with the tables
    kept beside the counts; returns the number of cells written. For a database filled by other means
    (bulk loads, restores)."""
    delete = sa.delete(SignatureCount)
    where = sa.true()
    if campaign is not None:
        delete = delete.where(SignatureCount.campaign_id == campaign.id)
        where = Signature.campaign_id == campaign.id
    db.session.execute(delete)
    dialect = db.session.get_bind().dialect.name
    columns = ["campaign_id", "petition_id", "country_id", "day", "signers", "without_email"]
    db.session.execute(_insert(SignatureCount, dialect).from_select(columns, _grouped(where, dialect)))
    rebuild_kept(campaign)
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


# Counts written through the ORM (tests standing in for many signatures, scripts) keep the tables beside
# them too; the functions above write signature_count directly, and keep them themselves.
@event.listens_for(SignatureCount, "after_insert")
def _count_added(_mapper, connection, target):
    cell = (target.campaign_id, target.petition_id, target.country_id, target.day)
    _keep(connection, Counter({cell: target.signers}), Counter({cell: target.without_email or 0}), KEPT[1:])


@event.listens_for(SignatureCount, "after_delete")
def _count_deleted(_mapper, connection, target):
    cell = (target.campaign_id, target.petition_id, target.country_id, target.day)
    _keep(connection, Counter({cell: -target.signers}), Counter({cell: -(target.without_email or 0)}), KEPT[1:])


# A petition deleted takes its signatures and their counts with it (the database cascades them, unseen by
# the events above): the tables kept per campaign (its days, overlaps and total) lose its cells first.
@event.listens_for(Petition, "before_delete")
def _petition_deleted(_mapper, connection, target):
    count = SignatureCount.__table__
    changes, without_email = Counter(), Counter()
    for campaign_id, country_id, day, signers, named in connection.execute(
        sa.select(count.c.campaign_id, count.c.country_id, count.c.day, count.c.signers, count.c.without_email).where(
            count.c.petition_id == target.id
        )
    ):
        cell = (campaign_id, target.id, country_id, day)
        changes[cell], without_email[cell] = -signers, -named
    if changes:
        _keep(connection, changes, without_email)
