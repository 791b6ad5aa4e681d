"""Outgoing webhooks: admins subscribe a URL to events, and the scheduler's delivery job posts each event,
signed, through the same lease and backoff as the mail queue."""
