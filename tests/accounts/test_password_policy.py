"""The password policy: 12 to 128 characters, no composition rules, not a common password, not the
person's name or e-mail."""

import pytest

from crm.accounts.passwords import common_passwords
from crm.accounts.services import AccountError, check_password_policy, find_by_email
from crm.extensions import db
from tests.accounts.conftest import sign_in
from tests.conftest import TEST_PASSWORD


def test_the_common_password_list_is_loaded():
    passwords = common_passwords()
    assert len(passwords) > 9_900
    assert {"123456", "password", "qwerty", "leavemealone"} <= passwords


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",  # words, lower case, spaces: no composition rules
        "x" * 12,  # the floor is a length, not a kind of character
        "ñandú y cóndor sobre los andes",
        "é" * 128,
    ],
)
def test_long_enough_passwords_are_accepted(password):
    check_password_policy(password, email="ana.perez@example.org", name="Ana Pérez")


@pytest.mark.parametrize(
    "password,message",
    [
        ("eleven char", "at least 12 characters"),
        ("a" * 129, "at most 128 characters"),
        ("leavemealone", "most commonly used"),
        ("LeaveMeAlone", "most commonly used"),
        ("leave me alone", "most commonly used"),
        ("qwerty123456", "most commonly used"),
        ("1qaz2wsx3edc", "most commonly used"),
    ],
)
def test_short_long_and_common_passwords_are_refused(password, message):
    with pytest.raises(AccountError, match=message):
        check_password_policy(password)


@pytest.mark.parametrize(
    "password",
    [
        "maria.gonzalez 2024",  # the e-mail's local part
        "MariaGonzalez!!2024",  # the same, ignoring case and punctuation
        "my friend gonzález rocks",  # a piece of the name, accented
        "hola maria gonzalez hola",  # the whole name
    ],
)
def test_passwords_with_the_persons_name_or_e_mail_are_refused(password):
    with pytest.raises(AccountError, match="your name or your e-mail"):
        check_password_policy(password, email="maria.gonzalez@example.org", name="María González")


def test_short_name_pieces_do_not_refuse_ordinary_words():
    # "Ana" alone is inside too many words to refuse; "Ana Li" whole is not.
    check_password_policy("banana bread every morning", email="ana.li@example.org", name="Ana Li")
    with pytest.raises(AccountError):
        check_password_policy("hello ana li my friend", email="ana.li@example.org", name="Ana Li")


def test_a_common_password_is_refused_on_the_account_page(client, make_user):
    user = make_user("volunteer")
    db.session.commit()
    sign_in(client, user)
    response = client.post(
        "/account/password",
        data={"current_password": TEST_PASSWORD, "new_password": "qwertyqwerty", "confirm": "qwertyqwerty"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="new_password-error"' in page and "most commonly used" in page
    assert user.check_password(TEST_PASSWORD)


def test_a_common_password_is_refused_by_the_command_line(runner):
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--name", "X", "--role", "volunteer"], input="1q2w3e4r5t6y\n"
    )
    assert result.exit_code == 1 and "most commonly used" in result.output
    assert find_by_email("x@example.org") is None
