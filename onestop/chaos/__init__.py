"""Fault injection for the chaos suite."""
