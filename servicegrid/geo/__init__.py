"""The workspace and its data: layers and their data model, vocabularies, reading files,
coordinate systems, the admin hierarchy, OpenStreetMap features and validation.

Modules: :mod:`.schema` (layers, columns, units, header aliases), :mod:`.vocabularies`
(canonical values of the enumerated columns), :mod:`.conform` (raw values into the data model,
with findings), :mod:`.findings` (the findings frame), :mod:`.workspace` (the GeoPackage and its
settings, atomic writes), :mod:`.readers` (GeoPackage, GeoJSON, KML, Shapefile, CSV/XLSX
registers), :mod:`.encoding` (GBK/GB18030 detection), :mod:`.crs` (the metric CRS),
:mod:`.chinacoords` (GCJ-02, BD-09), :mod:`.hierarchy` (parent ids by spatial join),
:mod:`.osm` (compounds, facilities and boundaries from OpenStreetMap), :mod:`.osmxml` (writing
OSM XML) and :mod:`.validate` (every check at once).
"""

from .chinacoords import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from .conform import Conformed, conform, conform_layer
from .crs import STORAGE_CRS, metric_crs, metric_crs_for_lonlat, to_metric, to_storage
from .findings import FINDING_COLUMNS
from .hierarchy import FilledParents, fill_parent_ids
from .readers import ReadResult, read_source
from .schema import LAYERS, ColumnSpec, LayerSpec, layer_spec
from .validate import ValidationReport, validate_layers
from .vocabularies import VOCABULARIES, Vocabulary, village_kind
from .workspace import Workspace, WorkspaceSettings, atomic_path, read_workspace, write_layers

__all__ = [
    "FINDING_COLUMNS",
    "LAYERS",
    "STORAGE_CRS",
    "VOCABULARIES",
    "ColumnSpec",
    "Conformed",
    "FilledParents",
    "LayerSpec",
    "ReadResult",
    "ValidationReport",
    "Vocabulary",
    "Workspace",
    "WorkspaceSettings",
    "atomic_path",
    "bd09_to_wgs84",
    "conform",
    "conform_layer",
    "fill_parent_ids",
    "gcj02_to_wgs84",
    "layer_spec",
    "metric_crs",
    "metric_crs_for_lonlat",
    "read_source",
    "read_workspace",
    "to_metric",
    "to_storage",
    "validate_layers",
    "village_kind",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "write_layers",
]
