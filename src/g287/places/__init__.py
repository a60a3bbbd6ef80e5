"""Places and people: counties, FBI agency roster, coverage, maps and GeoJSON."""
