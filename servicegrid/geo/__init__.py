"""Reading and writing layers, coordinate systems, the workspace, validation and the demo county."""
