"""Administration: staff accounts and the audit log."""
