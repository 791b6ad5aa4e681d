"""The refusals of Alcance's rules: one hierarchy, whatever the feature.

A service raises a `DomainError` when a request breaks a rule the user can act on: the message is for them
(already translated), `field` names the form field it belongs beside (None: the form as a whole), and
`status` is the HTTP status a page answers with. Every feature's own error class derives from it, so a view
(`crm.web.refusal`), a command line (`crm.cli`) and the API all turn any of them into a message and a
status the same way.
"""

from __future__ import annotations


class DomainError(ValueError):
    """A request that breaks a rule, with a message for the user."""

    status = 400

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        self.field = field


class StaleRecord(DomainError):
    """Someone else saved the record after the form that would change it was opened (optimistic locking,
    `crm.database.check_version`): nothing is saved, and the user compares before saving again."""

    status = 409
