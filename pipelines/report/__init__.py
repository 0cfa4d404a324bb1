"""The managers' monitoring report (docs/monitoring.md): aggregates only, small numbers suppressed.

``build.build_report`` reads the marts (``data``), builds each part of the page (``sections``,
``review_sections``, ``fairness``, ``summary``; charts in ``charts``) and writes the CSVs and one self-contained
HTML page (``render``, from ``templates/`` and ``static/``). ``quality_page`` renders the ingest's
data-quality page with the same templating. Nothing here imports Prefect or argparse.
"""
