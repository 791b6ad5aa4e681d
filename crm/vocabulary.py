"""The interface's words for stored values (stages, stances, origins...), in the glossary's terms.
Each table holds the English message; it is translated where it is shown: templates through the *_label
globals (crm/i18n.py, with the request's translations found once), Python through `label` (now) or
`lazy_label` (a form's choices, translated when rendered)."""

from crm.translation import gettext
from crm.translation import lazy_gettext as _l


def N_(message: str) -> str:
    """Marks a message for extraction (make extract-messages: -k N_); translated where it is shown."""
    return message


STAGE_LABELS = {
    "not_started": N_("Not started"),
    "contacted": N_("Contacted"),
    "meeting_requested": N_("Meeting requested"),
    "meeting_held": N_("Meeting held"),
    "responded": N_("Responded"),
    "committed": N_("Committed"),
    "closed": N_("Closed"),
}

STANCE_LABELS = {
    "unknown": N_("Unknown"),
    "opposed": N_("Opposed"),
    "non_committal": N_("Non-committal"),
    "supportive": N_("Supportive"),
    "acted": N_("Acted"),
}

FACT_ORIGIN_LABELS = {
    "seed": N_("reference data"),
    "admin": N_("an administrator"),
    "depositary": N_("UN depositary page"),
}

ROLE_LABELS = {
    "admin": N_("Administrator"),
    "manager": N_("Manager"),
    "coordinator": N_("Coordinator"),
    "volunteer": N_("Volunteer"),
}


def label(table: dict[str, str], key: str) -> str:
    """A stored value's word in the current language (an unknown value is shown as it is)."""
    return gettext(table[key]) if key in table else key


def lazy_label(table: dict[str, str], key: str):
    return _l(table[key])


# The templates' label functions, by name: crm/i18n.py makes each one.
LABEL_TABLES = {
    "stage_label": STAGE_LABELS,
    "stance_label": STANCE_LABELS,
    "origin_label": FACT_ORIGIN_LABELS,
    "role_label": ROLE_LABELS,
}
