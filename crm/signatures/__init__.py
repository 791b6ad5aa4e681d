"""Signatures: petitions, imports from petition platforms, tallies and totals by country of residence."""

from flask import Blueprint

bp = Blueprint("signatures", __name__)


@bp.record_once
def _sweep_staged_uploads(state):
    """Staged uploads a killed import left behind are deleted when the app starts."""
    from crm.signatures.staging import sweep_at_start

    sweep_at_start(state.app)


from crm.signatures import routes  # noqa: E402,F401
