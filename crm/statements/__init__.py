"""Joint statements: a campaign's text that organisations (and, if the campaign wants, individuals) sign
on a public page, each address confirmed by e-mail, each signature moderated before it is listed, and
withdrawable by the signer."""
