"""Planning data for BNSSG: zones, demand, candidate sites and travel times, built from open data."""
