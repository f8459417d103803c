"""`python -m pipeline.cli`, as the `pipeline` command."""

import sys

from pipeline.cli import main

sys.exit(main())
