"""The HTTP service: nearest service center and coverage lookups (not built yet)."""
