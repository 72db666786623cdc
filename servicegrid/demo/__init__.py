"""The synthetic demo county 示范县: every standard layer of a fictional county, and its files.

:func:`build_demo_county` generates the county in memory (:class:`DemoCounty`), or one
``scale`` times its size; :func:`write_demo_county` writes its workspace GeoPackage and its
walking network as OpenStreetMap XML (:class:`DemoFiles`); :func:`check_scale` refuses a size
that is not a whole number from 1 up. The package sits above :mod:`servicegrid.geo` and
:mod:`servicegrid.standards` (its facilities are generated from a standards preset); neither
imports it. Importing it loads no preset: that happens when a county is built.
"""

from .county import DemoCounty, build_demo_county, check_scale
from .files import DemoFiles, write_demo_county

__all__ = ["DemoCounty", "DemoFiles", "build_demo_county", "check_scale", "write_demo_county"]
