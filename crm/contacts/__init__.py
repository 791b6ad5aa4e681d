"""Offices and contacts: the embassies, ministries and missions, and the people who work there."""
