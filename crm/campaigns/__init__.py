"""Setting campaigns up: their description, demands, settings and target governments."""
