"""Countries (ISO 3166-1), UN M49 regions and each state's Rome Statute status with its sources."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.countries.statute import RS_FACT_FIELDS
from crm.database import DIGITS, UPPER, UTCDateTime, enum_check, only_chars, utcnow
from crm.extensions import db

RS_STATUSES = ("state_party", "signatory", "withdrawn", "non_party")
REGION_LEVELS = ("region", "sub_region", "intermediate_region")
FACT_ORIGINS = ("seed", "admin", "depositary")


class Region(db.Model):
    """A UN M49 region, sub-region or intermediate region."""

    __tablename__ = "region"
    __table_args__ = (
        enum_check("level", REGION_LEVELS),
        sa.CheckConstraint(f"length(code) = 3 AND {only_chars('code', DIGITS)}", name="code_three_digits"),
    )

    code: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    name_en: Mapped[str] = mapped_column(sa.String(120))
    name_es: Mapped[str] = mapped_column(sa.String(120))
    level: Mapped[str] = mapped_column(sa.String(24))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))


class Country(db.Model):
    __tablename__ = "country"
    __table_args__ = (
        enum_check("rs_status", RS_STATUSES),
        sa.CheckConstraint(f"length(alpha2) = 2 AND {only_chars('alpha2', UPPER)}", name="alpha2_format"),
        sa.CheckConstraint(f"length(alpha3) = 3 AND {only_chars('alpha3', UPPER)}", name="alpha3_format"),
        sa.CheckConstraint(
            f"numeric_code IS NULL OR (length(numeric_code) = 3 AND {only_chars('numeric_code', DIGITS)})",
            name="numeric_format",
        ),
        # Not "after the deposit": a successor state is bound from its independence (Montenegro).
        sa.CheckConstraint(
            "rs_entry_into_force_date IS NULL OR rs_entry_into_force_date >= '2002-07-01'",
            name="entry_into_force_after_statute",
        ),
        sa.CheckConstraint(
            "rs_withdrawal_effective_date IS NULL OR rs_withdrawal_notified_date IS NULL "
            "OR rs_withdrawal_effective_date >= rs_withdrawal_notified_date",
            name="withdrawal_effective_after_notified",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alpha2: Mapped[str] = mapped_column(sa.String(2), unique=True)
    alpha3: Mapped[str] = mapped_column(sa.String(3), unique=True)
    # ISO numeric; None for entities outside ISO 3166-1 (Kosovo, coded XK/XKX by convention).
    numeric_code: Mapped[str | None] = mapped_column(sa.String(3), unique=True)
    in_iso_3166: Mapped[bool] = mapped_column(default=True)
    name_en: Mapped[str] = mapped_column(sa.String(200), index=True)
    name_es: Mapped[str] = mapped_column(sa.String(200), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)
    sub_region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)
    intermediate_region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"))
    un_member: Mapped[bool] = mapped_column(default=False)

    # Rome Statute: the current facts. Each change is kept in CountryFactChange with its source.
    rs_status: Mapped[str] = mapped_column(sa.String(16), default="non_party", index=True)
    rs_signature_date: Mapped[dt.date | None]
    rs_ratification_date: Mapped[dt.date | None]
    rs_entry_into_force_date: Mapped[dt.date | None]
    rs_withdrawal_notified_date: Mapped[dt.date | None]
    rs_withdrawal_effective_date: Mapped[dt.date | None]
    rs_verified: Mapped[bool] = mapped_column(default=False)
    rs_source: Mapped[str | None] = mapped_column(sa.Text)
    rs_note: Mapped[str | None] = mapped_column(sa.Text)

    region = relationship(Region, foreign_keys=[region_code])
    sub_region = relationship(Region, foreign_keys=[sub_region_code])
    intermediate_region = relationship(Region, foreign_keys=[intermediate_region_code])
    fact_changes = relationship("CountryFactChange", back_populates="country", order_by="CountryFactChange.id.desc()")

    def __repr__(self) -> str:
        return f"<Country {self.alpha3}>"

    def name(self, locale: str = "en") -> str:
        return self.name_es if str(locale).startswith("es") else self.name_en

    def rs_fact(self, field: str):
        """A Rome Statute fact by the name the shared CSV gives it."""
        return getattr(self, _RS_COLUMN[field])

    def set_rs_fact(self, field: str, value) -> None:
        setattr(self, _RS_COLUMN[field], value)


_RS_COLUMN = {
    "status": "rs_status",
    "signature_date": "rs_signature_date",
    "ratification_or_accession_date": "rs_ratification_date",
    "entry_into_force_date": "rs_entry_into_force_date",
    "withdrawal_notified_date": "rs_withdrawal_notified_date",
    "withdrawal_effective_date": "rs_withdrawal_effective_date",
}


class CountryFactChange(db.Model):
    """One change to one Rome Statute fact: old and new value, the source that supports it, and who made it."""

    __tablename__ = "country_fact_change"
    __table_args__ = (
        enum_check("field", RS_FACT_FIELDS),
        enum_check("origin", FACT_ORIGINS),
        sa.CheckConstraint("length(trim(source)) > 0", name="source_required"),
        sa.Index("ix_country_fact_change_country_field", "country_id", "field"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(sa.String(40))
    old_value: Mapped[str | None] = mapped_column(sa.String(40))
    new_value: Mapped[str | None] = mapped_column(sa.String(40))
    source: Mapped[str] = mapped_column(sa.Text)
    verified: Mapped[bool] = mapped_column(default=False)
    origin: Mapped[str] = mapped_column(sa.String(16))
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    country = relationship(Country, back_populates="fact_changes")
    changed_by = relationship("User")
