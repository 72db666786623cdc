"""The synthetic demo county 示范县: every standard layer of a fictional county, and its files.

:func:`build_demo_county` generates the county in memory (:class:`DemoCounty`);
:func:`write_demo_county` writes its workspace GeoPackage and walking network (:class:`DemoFiles`).
"""

from .county import DemoCounty, DemoFiles, build_demo_county, write_demo_county

__all__ = ["DemoCounty", "DemoFiles", "build_demo_county", "write_demo_county"]
