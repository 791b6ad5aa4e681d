"""Reminders: e-mail for due follow-ups, digests, the scheduler process and calendar feeds."""
