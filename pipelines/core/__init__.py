"""Core: errors, file paths, settings, weeks, progress and spreadsheet writing. Imports no other pipelines package."""
