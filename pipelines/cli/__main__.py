"""``python -m pipelines.cli`` (branch issue-20c bridge; take engineer A's file at merge)."""

import os
import sys

from pipelines.cli.main import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
