"""Campaigns and their ordered demands: what is asked of every target government."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from crm.database import SLUG, UTCDateTime, only_chars, utcnow
from crm.extensions import db

# The languages a campaign is described in. The first is the default: its wording lives on the campaign
# itself and is what every other language falls back to; the others are CampaignTranslation rows. Adding a
# language here (and its fields on the description form) is all a new language needs.
CAMPAIGN_LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = CAMPAIGN_LANGUAGES[0]
TRANSLATED_LANGUAGES = CAMPAIGN_LANGUAGES[1:]


def _base_language(language) -> str:
    """ "es_VE" and "es" are both Spanish for the choice of a wording."""
    return str(language or DEFAULT_LANGUAGE).split("_")[0].split("-")[0].lower()


def new_version() -> int:
    return secrets.randbits(62)


class Campaign(db.Model):
    __tablename__ = "campaign"
    __table_args__ = (
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint(f"slug <> '' AND {only_chars('slug', SLUG)}", name="slug_format"),
        sa.CheckConstraint("reply_days > 0", name="reply_days_positive"),
        sa.CheckConstraint("stall_days > 0", name="stall_days_positive"),
        sa.CheckConstraint("ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        sa.CheckConstraint("length(letter_language) >= 2", name="letter_language_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # `name` and `description` are the wording in DEFAULT_LANGUAGE; other languages are in `translations`.
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    # The language a new letter is written in unless the recipient's office says otherwise.
    letter_language: Mapped[str] = mapped_column(sa.String(8), default="en")
    # Who coordinates a target added to this campaign, unless someone else is chosen for it.
    default_coordinator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Set when the campaign is archived: read-only, out of menus, dashboards and reminders; still searchable.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    starts_on: Mapped[dt.date | None]
    ends_on: Mapped[dt.date | None]
    # Days after a delivered letter or a meeting before the reply clock creates a follow-up.
    reply_days: Mapped[int] = mapped_column(default=14)
    # Volunteers may claim unassigned records; with this set, a coordinator approves each claim.
    claims_need_approval: Mapped[bool] = mapped_column(default=False)
    # A claimed or assigned record with no activity for this many days shows as stalled on the board.
    stall_days: Mapped[int] = mapped_column(default=21)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Names the state of what the campaign's figures are made from (FIGURES_SOURCES): a new random number
    # each time one of those rows changes, set by the database (the triggers below), whoever writes. The
    # dashboard keeps the figures it made under this number and makes them again when it changes.
    figures_version: Mapped[int] = mapped_column(sa.BigInteger, default=new_version, server_default="0")
    # The same for its signature totals (SIGNATURES_SOURCES) and its overdue follow-ups (FOLLOW_UPS_SOURCES).
    signatures_version: Mapped[int] = mapped_column(sa.BigInteger, default=new_version, server_default="0")
    follow_ups_version: Mapped[int] = mapped_column(sa.BigInteger, default=new_version, server_default="0")

    demands = relationship("Demand", back_populates="campaign", order_by="Demand.ordinal")
    # Loaded with the campaigns, in one query for all of them: every page names campaigns in its reader's language.
    translations = relationship(
        "CampaignTranslation",
        back_populates="campaign",
        cascade="all, delete-orphan",
        order_by="CampaignTranslation.language",
        lazy="selectin",
    )
    default_coordinator = relationship("User", foreign_keys=[default_coordinator_id])
    outreach_records = relationship("OutreachRecord", back_populates="campaign")
    # The target countries are those with an outreach record in this campaign: one fact, one place.
    target_countries = relationship("Country", secondary="outreach_record", viewonly=True, order_by="Country.name_en")

    def __repr__(self) -> str:
        return f"<Campaign {self.slug}>"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def status(self) -> str:
        return "archived" if self.is_archived else "active"

    def translation(self, language) -> CampaignTranslation | None:
        language = _base_language(language)
        return next((t for t in self.translations if t.language == language), None)

    def text(self, language) -> tuple[str, str | None]:
        """Name and short description in `language`, falling back to the default language's wording
        (the name and the description each on its own: a translated name with no translated description
        shows the default description)."""
        translation = self.translation(language)
        if translation is None:
            return self.name, self.description
        return translation.name, translation.description or self.description

    def display_name(self, language=DEFAULT_LANGUAGE) -> str:
        return self.text(language)[0]

    def display_description(self, language=DEFAULT_LANGUAGE) -> str | None:
        return self.text(language)[1]

    @property
    def active_demands(self):
        return [demand for demand in self.demands if demand.retired_at is None]

    @classmethod
    def by_slug(cls, slug: str) -> Campaign | None:
        # Most pages of a campaign start here: its translations in the same query, the statement built once.
        return db.session.execute(_by_slug(), {"slug": slug}).unique().scalar_one_or_none()


@cache
def _by_slug() -> sa.Select:
    return sa.select(Campaign).where(Campaign.slug == sa.bindparam("slug")).options(joinedload(Campaign.translations))


class CampaignTranslation(db.Model):
    """A campaign's name and short description in a language other than the default (the same shape as
    a demand's translations)."""

    __tablename__ = "campaign_translation"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "language"),
        sa.CheckConstraint("length(language) BETWEEN 2 AND 8", name="language_format"),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(sa.String(8))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)

    campaign = relationship(Campaign, back_populates="translations")


class Demand(db.Model):
    __tablename__ = "demand"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "ordinal"),
        sa.UniqueConstraint("campaign_id", "code"),
        # Lets positions prove, in the database, that their demand belongs to their campaign.
        sa.UniqueConstraint("campaign_id", "id"),
        sa.CheckConstraint("ordinal > 0", name="ordinal_positive"),
        sa.CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),
        sa.CheckConstraint("length(trim(code)) > 0", name="code_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaign.id", ondelete="CASCADE"))
    ordinal: Mapped[int]
    code: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)
    # A demand on which positions were recorded is retired, never deleted, so that history stays true.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    campaign = relationship(Campaign, back_populates="demands")
    # Every page that lists demands shows them in the reader's language: load the translations of all the
    # demands loaded, in one more query, rather than one query per demand.
    translations = relationship(
        "DemandTranslation", back_populates="demand", cascade="all, delete-orphan", lazy="selectin"
    )

    def text(self, language: str) -> tuple[str, str | None]:
        """Title and description in a letter's language, falling back to the original wording."""
        for translation in self.translations:
            if translation.language == language:
                return translation.title, translation.description
        return self.title, self.description


class DemandTranslation(db.Model):
    """A demand's wording in another language, for letters written in that language."""

    __tablename__ = "demand_translation"
    __table_args__ = (
        sa.UniqueConstraint("demand_id", "language"),
        sa.CheckConstraint("length(language) BETWEEN 2 AND 8", name="language_format"),
        sa.CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demand.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str | None] = mapped_column(sa.Text)

    demand = relationship(Demand, back_populates="translations")


# A campaign's figures_version, signatures_version and follow_ups_version ----------------------------------
#
# The dashboard's figures are made from a campaign's outreach records (their country, stage and who is
# assigned), its positions, its demands and their wording, and the countries (FIGURES_SOURCES); its
# signature totals from the petitions' counts per country, their tallies, the petitions and their imports
# (SIGNATURES_SOURCES); its overdue follow-ups from the follow-ups and their owners' names and addresses
# (FOLLOW_UPS_SOURCES). The database gives the campaign a new random number (figures_version,
# signatures_version, follow_ups_version) whenever one of those rows is added, changed or removed, whoever
# writes (the app, an import, a restore, raw SQL); a change of a country renews every campaign's
# figures_version, and of a person's name or address every campaign's follow_ups_version. Random, not
# counted up: a database restored from a backup, or a test's rolled-back one, may reach a count it had
# before with other rows, but not the same random number.
#
# On PostgreSQL the triggers of a campaign's rows are deferred to the commit: taken as each row is
# written, the campaign's row lock would make two writers of the same records wait for each other (one
# holding a record, the other the campaign); a petition's signers are written by many at once. A reader asks
# for the numbers through campaign_versions(), which first renews them for a transaction's own changes.
# Migrations 0037 (figures), 0038 (signatures) and 0040 (follow-ups) create the same on an existing database.
FIGURES_SOURCES = {
    # table -> the campaign of one of its rows, as SQL on the row (ROW stands for NEW or OLD)
    "outreach_record": "ROW.campaign_id",
    "position": "ROW.campaign_id",
    "demand": "ROW.campaign_id",
    "demand_translation": "(SELECT campaign_id FROM demand WHERE id = ROW.demand_id)",
    "country": None,  # every campaign
}
_OF_PETITION = "(SELECT campaign_id FROM petition WHERE id = ROW.petition_id)"
SIGNATURES_SOURCES = {
    "signature_total": "ROW.campaign_id",  # kept by every write of signatures (crm/signatures/counts.py)
    "signature_tally": _OF_PETITION,
    "signature_import": _OF_PETITION,  # the petitions' imports are counted beside them
    "petition": "ROW.campaign_id",
}
FOLLOW_UPS_SOURCES = {
    "follow_up": "ROW.campaign_id",
    "user": None,  # an owner's name or address: rare, and every campaign at once
}
# The columns of a row that its numbers are renewed by, where not all of them: the others change often (a
# record's priority and dates, a follow-up's reminder, a person's last sign-in) and nothing kept reads them.
WATCHED_COLUMNS = {
    "outreach_record": "campaign_id, country_id, stage, assignee_id",
    "follow_up": "campaign_id, outreach_id, owner_id, due_on, note, status, snoozed_until",
    "user": "name, email",
}
# Tables whose new and removed rows renew nothing: a person added has no follow-ups, and one who has any is
# never removed (the follow-ups' owner key).
ONLY_CHANGES = {"user"}
# What each number is renewed from: (its column, its trigger function's and triggers' word, its sources).
VERSIONS = (
    ("figures_version", "figures", FIGURES_SOURCES),
    ("signatures_version", "signatures", SIGNATURES_SOURCES),
    ("follow_ups_version", "follow_ups", FOLLOW_UPS_SOURCES),
)
_RENEW_POSTGRESQL = "floor(random() * 9.0e18)::bigint"


def _campaigns_of(rows: tuple[str, ...], source: str | None) -> str:
    if source is None:
        return ""
    return " WHERE id IN ({})".format(", ".join(source.replace("ROW", row) for row in rows))


def _changed_columns(table: str) -> str:
    return f"UPDATE OF {WATCHED_COLUMNS[table]}" if table in WATCHED_COLUMNS else "UPDATE"


def _events(table: str) -> str:
    """The writes of `table` that renew a number, as a trigger names them."""
    if table in ONLY_CHANGES:
        return _changed_columns(table)
    return f"INSERT OR {_changed_columns(table)} OR DELETE"


def _versions_postgresql() -> list[str]:
    statements = []
    for column, word, sources in VERSIONS:
        renew = f"UPDATE campaign SET {column} = {_RENEW_POSTGRESQL}"
        # One branch for each way of finding the campaign; OLD is NULL on an insert and NEW on a delete: IN
        # ignores the NULL.
        branches: dict[str | None, list[str]] = {}
        for table, source in sources.items():
            branches.setdefault(source, []).append(table)
        body = "\n  ELS".join(
            "IF TG_TABLE_NAME IN ({}) THEN\n    {}{};".format(
                ", ".join(f"'{table}'" for table in tables), renew, _campaigns_of(("OLD", "NEW"), source)
            )
            for source, tables in branches.items()
        )
        statements.append(
            f"""CREATE OR REPLACE FUNCTION campaign_{word}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {body}
  END IF;
  RETURN NULL;
END
$$"""
        )
        for table, source in sources.items():
            if source is None:  # a country, a person: rare, and every campaign at once, once per statement
                statements.append(
                    f'CREATE TRIGGER {table}_{word}_changed AFTER {_events(table)} ON "{table}" '
                    f"FOR EACH STATEMENT EXECUTE FUNCTION campaign_{word}_changed()"
                )
            else:
                statements.append(
                    f'CREATE CONSTRAINT TRIGGER {table}_{word}_changed AFTER {_events(table)} ON "{table}" '
                    f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION campaign_{word}_changed()"
                )
    # The numbers as a reader may keep what it makes under them: a transaction that has written first renews
    # them for its own changes (its deferred triggers fire now), so that figures made from rows it has not
    # committed are never kept under a number everyone else still reads.
    statements.append("DROP FUNCTION IF EXISTS campaign_versions(integer)")  # its answer's columns may differ
    statements.append(
        """CREATE FUNCTION campaign_versions(
  wanted integer, OUT figures bigint, OUT signatures bigint, OUT follow_ups bigint
) LANGUAGE plpgsql AS $$
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    SET CONSTRAINTS ALL IMMEDIATE;
  END IF;
  SELECT figures_version, signatures_version, follow_ups_version INTO figures, signatures, follow_ups
    FROM campaign WHERE id = wanted;
END
$$"""
    )
    return statements


def _versions_sqlite() -> list[str]:
    statements = []
    for column, word, sources in VERSIONS:
        for table, source in sources.items():
            for name, event_, rows in (
                ("added", "INSERT", ("NEW",)),
                ("changed", _changed_columns(table), ("OLD", "NEW")),
                ("removed", "DELETE", ("OLD",)),
            ):
                if table in ONLY_CHANGES and name != "changed":
                    continue
                statements.append(
                    f'CREATE TRIGGER {table}_{word}_{name} AFTER {event_} ON "{table}" BEGIN '
                    f"UPDATE campaign SET {column} = random(){_campaigns_of(rows, source)}; END"
                )
    return statements


VERSIONS_POSTGRESQL = _versions_postgresql()
VERSIONS_SQLITE = _versions_sqlite()

# Created once every table exists (the triggers sit on tables of several features); dropped with the functions.
for _statement in VERSIONS_POSTGRESQL:
    event.listen(db.metadata, "after_create", sa.DDL(_statement).execute_if(dialect="postgresql"))
for _statement in VERSIONS_SQLITE:
    event.listen(db.metadata, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite"))
for _statement in (
    "DROP FUNCTION IF EXISTS campaign_figures_changed() CASCADE",
    "DROP FUNCTION IF EXISTS campaign_signatures_changed() CASCADE",
    "DROP FUNCTION IF EXISTS campaign_follow_ups_changed() CASCADE",
    "DROP FUNCTION IF EXISTS campaign_versions(integer)",
):
    event.listen(db.metadata, "before_drop", sa.DDL(_statement).execute_if(dialect="postgresql"))
