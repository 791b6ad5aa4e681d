"""What the account rules refuse, as exceptions the pages turn into a message beside a field or a 429."""

from crm.errors import DomainError


class AccountError(DomainError):
    """A request about an account that cannot be carried out, with a message for the user."""


class TooManyAttempts(AccountError):
    """Too many failures for this account or from this address lately: answer 429, whoever asks."""

    status = 429


class WrongPassword(AccountError):
    """The current password given to confirm a change is wrong."""


class WrongCode(AccountError):
    """A second-factor code (TOTP or recovery code) is wrong, expired or already used."""
