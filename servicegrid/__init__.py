"""servicegrid: plan the grassroots service network of a Chinese county or district.

Subpackages: :mod:`servicegrid.geo` (workspace, readers, coordinates, validation, demo county),
:mod:`servicegrid.standards` (tiered standards and audits), :mod:`servicegrid.coverage`
(walking networks and coverage), :mod:`servicegrid.siting` (where to build or upgrade
stations), :mod:`servicegrid.maps` and :mod:`servicegrid.api`.
"""

__version__ = "0.1.0"
