"""Ingest: the column mapping, file readers, conversion and load, validation, knowledge dates, file classification."""
