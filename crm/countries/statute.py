"""The Rome Statute facts recorded about each state, and the day the Statute entered into force: plain
values, shared by the models, the rules and the reader of the depositary's page, which needs no database."""

from __future__ import annotations

import datetime as dt

# The Rome Statute facts an admin may correct, as named in the shared CSV and `countries list --csv`.
RS_FACT_FIELDS = (
    "status",
    "signature_date",
    "ratification_or_accession_date",
    "entry_into_force_date",
    "withdrawal_notified_date",
    "withdrawal_effective_date",
)
RS_DATE_FIELDS = RS_FACT_FIELDS[1:]

# The Statute entered into force on 1 July 2002 (article 126(1)): no state was bound by it before.
STATUTE_IN_FORCE = dt.date(2002, 7, 1)
