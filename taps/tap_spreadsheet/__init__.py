"""tap_spreadsheet."""
