"""Data subject requests: find and erase the personal data of a signer or a contact, on request."""
