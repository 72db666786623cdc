"""Folium maps of facilities, coverage and gaps (not built yet)."""
