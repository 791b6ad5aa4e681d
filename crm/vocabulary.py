"""The interface's words for stored values (stages, stances, origins...), in the glossary's terms.
Lazy, so each is shown in the reader's language; templates reach them through the *_label globals."""

from flask_babel import lazy_gettext as _l

STAGE_LABELS = {
    "not_started": _l("Not started"),
    "contacted": _l("Contacted"),
    "meeting_requested": _l("Meeting requested"),
    "meeting_held": _l("Meeting held"),
    "responded": _l("Responded"),
    "committed": _l("Committed"),
    "closed": _l("Closed"),
}

STANCE_LABELS = {
    "unknown": _l("Unknown"),
    "opposed": _l("Opposed"),
    "non_committal": _l("Non-committal"),
    "supportive": _l("Supportive"),
    "acted": _l("Acted"),
}

FACT_ORIGIN_LABELS = {
    "seed": _l("reference data"),
    "admin": _l("an administrator"),
    "depositary": _l("UN depositary page"),
}

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "coordinator": _l("Coordinator"),
    "volunteer": _l("Volunteer"),
}


def _label(table):
    return lambda key: str(table.get(key, key))


TEMPLATE_GLOBALS = {
    "stage_label": _label(STAGE_LABELS),
    "stance_label": _label(STANCE_LABELS),
    "origin_label": _label(FACT_ORIGIN_LABELS),
    "role_label": _label(ROLE_LABELS),
}
