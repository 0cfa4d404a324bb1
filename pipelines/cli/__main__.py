"""``python -m pipelines.cli``: the ``redflags`` command."""

import os
import sys

from pipelines.cli.main import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
