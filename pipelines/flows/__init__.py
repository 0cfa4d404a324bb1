"""Every Prefect flow and task (the only package that imports prefect); each flow a thin wrapper of plain functions."""
