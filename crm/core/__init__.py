"""Core pages: the home page, language choice and the health check."""
