"""Hostile but legal inputs (issue 17): one test per finding, each failing on the code before its fix."""
