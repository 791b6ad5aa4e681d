"""The public board: what a manager publishes, and what the public then sees. Everything the board shows
comes from `public_board`, which reads only published entries and published positions, and only their
public fields (stance, date, evidence and its link): never staff, contacts, meetings, letters, follow-ups
or notes. The response shown is worked out from those public positions alone. The organisations that
co-signed the campaign's joint statements are shown as the statements' public pages list them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from crm import clock
from crm.audit import services as audit
from crm.board.models import PublishedBoard, PublishedEntry, PublishedPosition
from crm.campaigns.models import Campaign, Demand
from crm.campaigns.services import demands_of
from crm.countries.models import Country
from crm.dashboard.services import RESPONSES, response_of
from crm.database import fold, utcnow
from crm.extensions import db
from crm.outreach.models import OutreachRecord, Position
from crm.signatures.totals import totals_for
from crm.statements import services as statements


def public_response(stances) -> str:
    """The dashboard's reading of a government's response, from its public positions alone (its stage is
    internal: a private meeting can move it)."""
    return response_of(None, stances)


@dataclass(frozen=True)
class PublicPosition:
    stance: str
    stated_on: dt.date
    evidence: str | None
    evidence_url: str | None


@dataclass
class PublicEntry:
    country: Country
    positions: dict[int, PublicPosition]  # demand id -> the latest published position
    response: str = "no_answer"
    # The organisations in this country that co-signed the campaign's statements.
    cosigners: statements.CoSigners = field(default_factory=statements.CoSigners)


@dataclass(frozen=True)
class PublicStatement:
    slug: str
    title: str
    language: str  # the title's (the statement may not be written in the board's language)
    signatures: int  # as its public page counts them


@dataclass
class PublicBoard:
    campaign: Campaign
    published_at: dt.datetime
    demands: list[Demand]
    entries: list[PublicEntry] = field(default_factory=list)
    signers: int = 0
    signers_by_country: list[tuple[Country, int]] = field(default_factory=list)
    statements: list[PublicStatement] = field(default_factory=list)

    @property
    def responses(self) -> dict[str, int]:
        counts = {response: 0 for response in RESPONSES}
        for entry in self.entries:
            counts[entry.response] += 1
        return counts


def is_published(campaign: Campaign) -> bool:
    return db.session.get(PublishedBoard, campaign.id) is not None


def publish(campaign: Campaign, *, actor) -> bool:
    """Open the campaign's board to the public (its entries still appear only once each is published)."""
    if is_published(campaign):
        return False
    db.session.add(PublishedBoard(campaign_id=campaign.id, published_by_id=getattr(actor, "id", None)))
    audit.record("board.publish", actor=actor, entity=campaign)
    return True


def unpublish(campaign: Campaign, *, actor) -> bool:
    board = db.session.get(PublishedBoard, campaign.id)
    if board is None:
        return False
    db.session.delete(board)
    audit.record("board.unpublish", actor=actor, entity=campaign)
    return True


def _records(campaign: Campaign) -> list[OutreachRecord]:
    return db.session.scalars(
        sa.select(OutreachRecord)
        .where(OutreachRecord.campaign_id == campaign.id)
        .options(joinedload(OutreachRecord.country))
    ).all()


def _positions(campaign: Campaign) -> list[Position]:
    return db.session.scalars(
        sa.select(Position).where(Position.campaign_id == campaign.id).order_by(Position.stated_on, Position.id)
    ).all()


@dataclass
class BoardChoices:
    """The management page: every target government, whether its entry is published, and its positions
    on each demand (newest first) with whether each is public."""

    records: list[OutreachRecord]
    published_records: set[int]
    positions: dict[int, dict[int, list[Position]]]  # record id -> demand id -> positions, newest first
    public_positions: set[int]


def choices(campaign: Campaign, language: str = "en") -> BoardChoices:
    records = sorted(_records(campaign), key=lambda record: fold(record.country.name(language)))
    ids = [record.id for record in records]
    published = (
        set(db.session.scalars(sa.select(PublishedEntry.outreach_id).where(PublishedEntry.outreach_id.in_(ids))))
        if ids
        else set()
    )
    positions: dict[int, dict[int, list[Position]]] = defaultdict(lambda: defaultdict(list))
    history = _positions(campaign)
    for position in reversed(history):
        positions[position.outreach_id][position.demand_id].append(position)
    public = (
        set(
            db.session.scalars(
                sa.select(PublishedPosition.position_id).where(
                    PublishedPosition.position_id.in_([p.id for p in history])
                )
            )
        )
        if history
        else set()
    )
    return BoardChoices(records=records, published_records=published, positions=positions, public_positions=public)


def set_published(campaign: Campaign, *, records: set[int], positions: set[int], actor) -> tuple[int, int]:
    """Make exactly these entries and positions of the campaign public (others private again). Ids that
    are not the campaign's are ignored. Returns how many entries and positions are public afterwards."""
    own_records = {record.id for record in _records(campaign)}
    own_positions = {position.id for position in _positions(campaign)}
    wanted_records, wanted_positions = records & own_records, positions & own_positions
    current_records = (
        set(
            db.session.scalars(sa.select(PublishedEntry.outreach_id).where(PublishedEntry.outreach_id.in_(own_records)))
        )
        if own_records
        else set()
    )
    current_positions = (
        set(
            db.session.scalars(
                sa.select(PublishedPosition.position_id).where(PublishedPosition.position_id.in_(own_positions))
            )
        )
        if own_positions
        else set()
    )
    actor_id = getattr(actor, "id", None)
    for record_id in wanted_records - current_records:
        db.session.add(PublishedEntry(outreach_id=record_id, published_by_id=actor_id))
    for position_id in wanted_positions - current_positions:
        db.session.add(PublishedPosition(position_id=position_id, published_by_id=actor_id))
    if current_records - wanted_records:
        db.session.execute(
            sa.delete(PublishedEntry).where(PublishedEntry.outreach_id.in_(current_records - wanted_records))
        )
    if current_positions - wanted_positions:
        db.session.execute(
            sa.delete(PublishedPosition).where(PublishedPosition.position_id.in_(current_positions - wanted_positions))
        )
    changes = {
        "entries_published": sorted(wanted_records - current_records),
        "entries_withdrawn": sorted(current_records - wanted_records),
        "positions_published": sorted(wanted_positions - current_positions),
        "positions_withdrawn": sorted(current_positions - wanted_positions),
    }
    if any(changes.values()):
        audit.record("board.update", actor=actor, entity=campaign, after=changes)
    return len(wanted_records), len(wanted_positions)


def public_board(campaign: Campaign, language: str = "en", *, today: dt.date | None = None) -> PublicBoard | None:
    """What the public sees, or None while the board is not published. A fixed number of queries."""
    board = db.session.get(PublishedBoard, campaign.id)
    if board is None:
        return None
    demands = demands_of(campaign.id)
    records = db.session.scalars(
        sa.select(OutreachRecord)
        .join(PublishedEntry, PublishedEntry.outreach_id == OutreachRecord.id)
        .where(OutreachRecord.campaign_id == campaign.id)
        .options(joinedload(OutreachRecord.country))
    ).all()
    shown = {record.id for record in records}
    latest: dict[int, dict[int, PublicPosition]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(
            Position.outreach_id,
            Position.demand_id,
            Position.stance,
            Position.stated_on,
            Position.evidence,
            Position.evidence_url,
        )
        .join(PublishedPosition, PublishedPosition.position_id == Position.id)
        .where(Position.campaign_id == campaign.id)
        .order_by(Position.stated_on, Position.id)
    )
    for outreach_id, demand_id, stance, stated_on, evidence, evidence_url in rows:
        if outreach_id in shown:
            latest[outreach_id][demand_id] = PublicPosition(stance, stated_on, evidence, evidence_url)
    today = today or clock.today(None, utcnow())
    cosigners = statements.cosigners_by_country(campaign, today, [record.country_id for record in records])
    entries = [
        PublicEntry(
            country=record.country,
            positions=latest[record.id],
            response=public_response(p.stance for p in latest[record.id].values()),
            cosigners=cosigners.get(record.country_id, statements.CoSigners()),
        )
        for record in records
    ]
    entries.sort(key=lambda entry: fold(entry.country.name(language)))
    totals = totals_for(campaign)
    countries = (
        {
            country.alpha3: country
            for country in db.session.scalars(sa.select(Country).where(Country.alpha3.in_(list(totals.by_country))))
        }
        if totals.by_country
        else {}
    )
    by_country = sorted(
        ((countries[code], count) for code, count in totals.by_country.items() if code in countries),
        key=lambda pair: -pair[1],
    )
    return PublicBoard(
        campaign=campaign,
        published_at=board.published_at,
        demands=list(demands),
        entries=entries,
        signers=totals.total,
        signers_by_country=by_country,
        statements=[
            PublicStatement(statement.slug, text.title, text.language, count)
            for statement, count in statements.public_statements(campaign, today)
            if (text := statement.text(language)) is not None
        ],
    )


def published_campaign(slug: str) -> Campaign | None:
    """The campaign behind /p/<slug>, if its board is published (an archived campaign's board stays up:
    its history is public record once published)."""
    return db.session.scalar(
        sa.select(Campaign).join(PublishedBoard, PublishedBoard.campaign_id == Campaign.id).where(Campaign.slug == slug)
    )
