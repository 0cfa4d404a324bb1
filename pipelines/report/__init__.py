"""The managers' monitoring report: aggregates only, small numbers suppressed (docs/monitoring.md)."""
