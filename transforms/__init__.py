"""Pure functions and frozen records: HTML to text, versioning, clauses.

Nothing in this package touches the network, files, the clock, DuckDB or
Prefect. Times, URLs and ids come in as arguments.
"""
