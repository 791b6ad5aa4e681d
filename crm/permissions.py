"""The one place that answers "may this user do this?". Views, exports, CLI and API all ask here."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

# What each role may do beyond its own records. Later issues extend this table, never the views.
ROLE_ABILITIES: dict[str, set[str]] = {
    "admin": {"manage_users", "edit_reference_data", "view_all", "edit_all", "export", "assign", "view_audit"},
    "manager": {"view_all", "edit_all", "export", "view_audit"},
    "coordinator": {"view_all", "edit_all", "assign"},
    "volunteer": set(),
}


def can(user, ability: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return ability in ROLE_ABILITIES.get(user.role, set())


def require(ability: str):
    """Guard a view. A user without the ability gets 404: the page's existence is not confirmed."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not can(current_user, ability):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator
