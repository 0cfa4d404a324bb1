"""The ``redflags`` command: its parser (main) and one small handler per command; the only argparse user."""
