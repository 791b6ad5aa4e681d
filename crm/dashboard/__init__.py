"""The managers' dashboard: who has responded to what, on a map and in tables, with exports."""
