"""Reading and writing layers, coordinate systems, the workspace and validation."""
