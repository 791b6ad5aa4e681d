"""Outreach: each campaign's work with each government — positions, meetings, letters, follow-ups."""
