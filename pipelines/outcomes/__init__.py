"""Reviewers' outcomes: importing them (records) and reading a household's history."""
