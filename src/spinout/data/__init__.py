"""Data stage: per-service databases, migrations, a verified resumable copy, and the core's strip."""
