"""The DuckDB warehouse: connection and model runner, field encryption, runs and the audit log. Imports core only."""
