"""Tiered construction standards as data, and facility audits against them.

Modules: :mod:`.models` (the preset schema, frozen pydantic models), :mod:`.loader` (finding,
merging with ``extends`` and validating presets; the built-in ones live in ``presets/``),
:mod:`.records` (how a facility register records its items, windows, zones and rooms),
:mod:`.hours` (opening-hours text), :mod:`.audit` (grading facilities; a whole workspace with
:func:`~servicegrid.standards.audit.audit_workspace`), :mod:`.summary` (township and county
counts, the "1+1+2+N" position system), :mod:`.grids` (grid and micro-grid checks),
:mod:`.workbook` (the township and county workbooks), :mod:`.export` (the output folder: workbooks,
CSV, GeoJSON, result layers), :mod:`.headers` (their column headings) and :mod:`.show` (readable views of a preset). ``docs/standards.md``
describes the preset format.
"""
