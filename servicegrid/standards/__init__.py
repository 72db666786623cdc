"""Tiered construction standards as data, and facility audits against them."""
