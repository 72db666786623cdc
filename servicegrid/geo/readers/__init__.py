"""Reading one source file into one workspace layer, as the planner's files come.

:func:`read_source` takes a GeoPackage, GeoJSON, KML/KMZ, Shapefile, or a CSV/XLSX register
with longitude/latitude or WKT columns, and returns the layer conformed to the data model
(:func:`servicegrid.geo.schema.conform`) in WGS-84, together with notes that tell the user what
was assumed or repaired: the encoding detected for a shapefile without .cpg, the columns used as
coordinates, the coordinate system converted from, polygons repaired with ``make_valid``.

Anything that cannot be read as given raises :class:`~servicegrid.errors.InputError` naming the
file, layer, row and field; rows are counted from 1 over the data records (header excluded).

The order of work is fixed: read the raw features, settle the source CRS (``crs`` overrides
whatever the file declares), convert to WGS-84 (``coords`` says whether the longitudes and
latitudes are WGS-84, CGCS2000, GCJ-02 or BD-09), check and repair the geometry, conform the
columns. Each step has its module: :mod:`.dispatch` (:func:`read_source` and
:class:`ReadResult`, which run the steps), :mod:`.vector` (GeoPackage, GeoJSON, KML/KMZ,
Shapefile), :mod:`.registers` (CSV and XLSX tables), :mod:`.coordinates` (the source CRS, swapped
axes, the conversion to WGS-84) and :mod:`.geometry` (geometry types and repair).
"""

from .dispatch import SUPPORTED_SUFFIXES, ReadResult, read_source

__all__ = ["SUPPORTED_SUFFIXES", "ReadResult", "read_source"]
