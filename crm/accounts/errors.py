"""What the account rules refuse, as exceptions the pages turn into a message beside a field or a 429."""

from crm.errors import DomainError


class AccountError(DomainError):
    """A request about an account that cannot be carried out, with a message for the user."""


class FailedAttempt(AccountError):
    """A password or code that was tried and refused (or not even tried, the throttle having stopped it):
    the attempt is kept although the request fails, since it counts towards the throttle and the audit
    log says it happened (crm.web.keep_changes)."""


class TooManyAttempts(FailedAttempt):
    """Too many failures for this account or from this address lately: answer 429, whoever asks."""

    status = 429


class WrongPassword(FailedAttempt):
    """The current password given to confirm a change is wrong."""


class WrongCode(FailedAttempt):
    """A second-factor code (TOTP or recovery code) is wrong, expired or already used."""
