"""Config stage: lossless INI split into per-service files."""
