"""Tiered construction standards as data, and facility audits against them.

Modules: :mod:`.models` (the preset schema, frozen pydantic models), :mod:`.loader` (finding,
merging with ``extends`` and validating presets; the built-in ones live in ``presets/``),
:mod:`.records` (how a facility register records its items, windows, zones and rooms),
:mod:`.hours` (opening-hours text), :mod:`.audit` (grading facilities; a whole workspace with
:func:`~servicegrid.standards.audit.audit_layers`), :mod:`.summary` (township and county
counts, the "1+1+2+N" position system), :mod:`.grids` (grid and micro-grid checks),
:mod:`.workbook` (the township and county workbooks), :mod:`.export` (the output folder: workbooks,
CSV, GeoJSON, result layers), :mod:`.headers` (their column headings) and :mod:`.show` (readable views of a preset). ``docs/standards.md``
describes the preset format.
"""

from .audit import AuditResult, audit_facilities, audit_layers
from .export import write_audit
from .hours import parse_opening_hours
from .loader import check_preset, list_presets, load_preset
from .models import Preset
from .records import resolve_tiers

__all__ = [
    "AuditResult",
    "Preset",
    "audit_facilities",
    "audit_layers",
    "check_preset",
    "list_presets",
    "load_preset",
    "parse_opening_hours",
    "resolve_tiers",
    "write_audit",
]
