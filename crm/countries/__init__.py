"""Countries: the reference table of states, their regions and Rome Statute status."""
