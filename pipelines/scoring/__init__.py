"""Scoring one week: the SQL models in order, then the rules and anomaly models."""
