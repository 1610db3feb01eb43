"""tap_legacy."""
