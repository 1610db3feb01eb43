"""tap_sql."""
