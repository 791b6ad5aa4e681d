"""Backups: encrypted archives of the whole install, checked and restored into an empty database of
either kind (the way to move from SQLite to PostgreSQL), and a scheduled job that keeps a few."""
