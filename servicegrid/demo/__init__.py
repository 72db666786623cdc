"""The synthetic demo county 示范县: every standard layer of a fictional county, and its files.

:func:`build_demo_county` generates the county in memory (:class:`DemoCounty`);
:func:`write_demo_county` writes its workspace GeoPackage and its walking network as
OpenStreetMap XML (:class:`DemoFiles`). The package sits above :mod:`servicegrid.geo` and
:mod:`servicegrid.standards` (its facilities are generated from a standards preset); neither
imports it. Importing it loads no preset: that happens when a county is built.
"""

from .county import DemoCounty, build_demo_county
from .files import DemoFiles, write_demo_county

__all__ = ["DemoCounty", "DemoFiles", "build_demo_county", "write_demo_county"]
