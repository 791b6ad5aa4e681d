"""What the signature rules refuse: the error every signature service raises, or derives its own from."""

from crm.errors import DomainError


class SignatureError(DomainError):
    """A request about signatures that breaks a rule. `field` names the form field it belongs beside."""
