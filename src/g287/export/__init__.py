"""Open-data exports and dated releases of the history."""
