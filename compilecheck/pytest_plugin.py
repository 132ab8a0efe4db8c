"""pytest plugin (placeholder until the fixture lands)."""
