"""Backtests: replaying past weeks (replay) and their figures (plots)."""
