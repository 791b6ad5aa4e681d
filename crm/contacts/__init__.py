"""Offices and contacts: the embassies, ministries and missions, and the people who work there."""

from flask import Blueprint

bp = Blueprint("contacts", __name__)


@bp.record_once
def _sweep_staged_uploads(state):
    """Staged import files a killed import left behind are deleted when the app starts."""
    from crm.contacts.exchange import UPLOADS

    UPLOADS.sweep_at_start(state.app)


from crm.contacts import routes  # noqa: E402,F401
