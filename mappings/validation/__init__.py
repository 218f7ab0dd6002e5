"""Validation of a read mapping file, one module per section it checks; every problem located to its line.

MappingValidator (top_level) checks the top-level keys and composes the section checks: record, code_tables,
field_rules; value_checks holds their shared state and the checks of paths, transforms and date formats."""

from mappings.validation.top_level import MappingValidator

__all__ = ["MappingValidator"]
