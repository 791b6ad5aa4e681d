"""Accounts: sign-in with a second factor, sessions, the account page, password reset and the users
command line."""
