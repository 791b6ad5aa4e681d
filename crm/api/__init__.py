"""The JSON API, and webhooks that petition platforms call."""
