"""A state's Rome Statute standing on a given day, from its recorded facts.

A withdrawal takes effect one year after the Secretary-General receives its notification (article 127(1)),
so a state that has notified one is still a state party until then. The recorded status says what the
depositary last said; the standing says what holds on the reader's day: a pending withdrawal is shown
beside "State party", and one whose effective date has passed makes the state "Withdrawn" even before
anyone has updated the recorded status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from crm.countries.models import RS_STATUSES, Country


@dataclass(frozen=True)
class Standing:
    status: str  # one of RS_STATUSES, as it holds on the day asked about
    withdrawal_takes_effect: dt.date | None = None  # a notified withdrawal not yet in effect
    withdrawal_took_effect: dt.date | None = None  # when a withdrawal took effect, if known

    @property
    def withdrawing(self) -> bool:
        return self.withdrawal_takes_effect is not None

    @property
    def court_keeps_jurisdiction(self) -> bool:
        """Article 127(2): a withdrawal does not discharge the state from obligations arising while it
        was a party, nor prejudice matters under consideration by the Court before it took effect."""
        return self.withdrawing or self.withdrawal_took_effect is not None


def standing(country: Country, day: dt.date) -> Standing:
    """`country`'s standing on `day` (the reader's today, from `crm.clock.today`)."""
    effective = country.rs_withdrawal_effective_date
    if country.rs_status == "state_party" and effective is not None:
        if effective > day:
            return Standing("state_party", withdrawal_takes_effect=effective)
        return Standing("withdrawn", withdrawal_took_effect=effective)
    if country.rs_status == "withdrawn":
        return Standing("withdrawn", withdrawal_took_effect=effective)
    return Standing(country.rs_status)


def status_condition(status: str, day: dt.date):
    """A SQL condition on `Country` that holds where `standing(country, day).status == status`."""
    if status not in RS_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    withdrawal_in_effect = sa.and_(
        Country.rs_status == "state_party",
        Country.rs_withdrawal_effective_date.is_not(None),
        Country.rs_withdrawal_effective_date <= day,
    )
    if status == "withdrawn":
        return sa.or_(Country.rs_status == "withdrawn", withdrawal_in_effect)
    if status == "state_party":
        return sa.and_(Country.rs_status == "state_party", sa.not_(withdrawal_in_effect))
    return Country.rs_status == status
