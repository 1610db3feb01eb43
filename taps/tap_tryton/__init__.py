"""tap_tryton."""
