"""Synthetic landlords for tests, benchmarks and the demo (``redflags synth``); never real data.

- ``standard``: the standard landlord (``build_landlord``, ``write_landlord``), built by ``planting`` (planted
  households) and ``extracts`` (the extracts assembled), written by ``files`` (weekly drops, mapping, answer key);
  its wording in ``data/standard.yaml``, read and varied by ``text``.
- ``riverside``: a second landlord in another system's layout and hand (``write_riverside``), built by
  ``riverside_landlord``, its wording in ``data/riverside.yaml`` read by ``riverside_text``.
- Shared by both: ``stock`` (calendar, homes, tenancies), ``landlord`` (in-memory shapes, the answer-key format),
  ``rent`` (weekly balances).
"""
