"""Siting of new and upgraded stations: the models on plain arrays and the workspace adaptor."""
