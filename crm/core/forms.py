"""Forms every feature uses."""

from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """A button that changes something, or the button behind a link from an e-mail (opening a link, which
    mail scanners do, changes nothing): the CSRF token and nothing else."""
