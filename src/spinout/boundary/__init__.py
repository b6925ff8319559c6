"""Boundary stage: the import rule that keeps the core from importing the services, and the coupling report."""
