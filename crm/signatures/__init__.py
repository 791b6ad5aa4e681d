"""Signatures: petitions, imports from petition platforms, tallies and totals by country of residence."""
