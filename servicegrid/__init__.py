"""servicegrid: plan the grassroots service network of a Chinese county or district.

Subpackages: :mod:`servicegrid.geo` (workspace, readers, coordinates, validation),
:mod:`servicegrid.standards` (tiered standards and audits), :mod:`servicegrid.demo` (the
synthetic demo county), :mod:`servicegrid.coverage` (walking networks, coverage and siting),
:mod:`servicegrid.maps` and :mod:`servicegrid.api`.
"""

__version__ = "0.1.0"
