"""Offices (embassies, consulates, ministries, missions) and the people who work there."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from crm.database import EMAIL_SHAPE, UTCDateTime, enum_check, fold, utcnow
from crm.encryption import EncryptedText
from crm.extensions import db

# The note the demo writes on its invented contacts: how a real campaign tells them from its own.
FICTIONAL_CONTACT_NOTE = "Fictional demo contact."
OFFICE_KINDS = ("embassy", "consulate", "ministry", "permanent_mission", "parliament", "other")


class Office(db.Model):
    __tablename__ = "office"
    __table_args__ = (
        enum_check("kind", OFFICE_KINDS),
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint("length(trim(city)) > 0", name="city_not_blank"),
        # One embassy of France in Madrid; several consulates, one per city.
        sa.UniqueConstraint("country_id", "kind", "host_country_id", "city"),
        # A government's offices in the order its country page lists them (active first, by kind and city):
        # the first are read from the index, not the hundreds of a busy government sorted.
        sa.Index("ix_office_government_order", "country_id", sa.text("active DESC"), "kind", "city", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The government it represents (an embassy *of* France).
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))
    name: Mapped[str] = mapped_column(sa.String(300))
    city: Mapped[str] = mapped_column(sa.String(120))
    # Where it sits (*in* Madrid, Spain).
    host_country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"), index=True)
    address: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    website: Mapped[str | None] = mapped_column(sa.String(500))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    country = relationship("Country", foreign_keys=[country_id])
    host_country = relationship("Country", foreign_keys=[host_country_id])
    contacts = relationship("Contact", back_populates="office", order_by="Contact.name")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Office {self.kind} {self.name}>"


class Contact(db.Model):
    """A person at an office. Their current post is office_id and title; Post keeps every term."""

    __tablename__ = "contact"
    __table_args__ = (
        sa.CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        sa.CheckConstraint("email IS NULL OR email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint(f"email IS NULL OR email {EMAIL_SHAPE}", name="email_shape"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        sa.Index("ix_contact_email", "email"),
        sa.Index("ix_contact_office_name", "office_id", "name"),
        # Searching "contains" cannot use a B-tree on PostgreSQL: a trigram index can (pg_trgm, created
        # before the table below and by migration 0017). SQLite keeps a plain index on the folded text.
        sa.Index(
            "ix_contact_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    # A personal (mobile) number is the most dangerous thing to leak: encrypted at rest. Deferred: a
    # list of contacts never decrypts it; the contact's own page loads it when it shows it.
    personal_phone: Mapped[str | None] = deferred(mapped_column(EncryptedText))
    language: Mapped[str | None] = mapped_column(sa.String(8))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contact.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # Name, e-mail and title folded as `crm.database.fold` folds a query (no accents, lower case), one per
    # line; written with every change of those (below), so a search compares stored text through an index
    # instead of folding every contact on every query.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")

    office = relationship(Office, back_populates="contacts")
    posts = relationship("Post", back_populates="contact", order_by="Post.started_on.desc()")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Contact {self.name}>"


# A government's offices on its country's page show each office's first active people by name, with their
# titles, and how many it has (crm/contacts/offices.py): read in this index's order (on PostgreSQL from the
# index alone) instead of from the table to be sorted (a busy government's ten offices hold some 140 people).
sa.Index(
    "ix_contact_office_people",
    Contact.office_id,
    Contact.name,
    Contact.id,
    Contact.title,
    postgresql_where=sa.and_(Contact.active.is_(True), Contact.merged_into_id.is_(None)),
    sqlite_where=sa.and_(Contact.active.is_(True), Contact.merged_into_id.is_(None)),
)


def contact_search_text(name: str | None, email: str | None, title: str | None) -> str:
    return "\n".join(fold(value) for value in (name, email, title) if value)


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _keep_search_text(_mapper, _connection, target):
    target.search_text = contact_search_text(target.name, target.email, target.title)


# The trigram operator class the index above uses: the extension ships with PostgreSQL (contrib).
event.listen(
    Contact.__table__, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql")
)


class Post(db.Model):
    """A term a contact held at an office: diplomats rotate, and the history of who held what stays true."""

    __tablename__ = "post"
    __table_args__ = (
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="dates_ordered"),
        sa.Index("ix_post_office_title", "office_id", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("office.id"))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    started_on: Mapped[dt.date]
    ended_on: Mapped[dt.date | None]

    contact = relationship(Contact, back_populates="posts")
    office = relationship(Office)
