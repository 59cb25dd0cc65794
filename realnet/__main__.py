# SPDX-License-Identifier: BSD-2-Clause
"""`python3 -m realnet SCENARIO.yaml [options]` (realnet.cli.main)."""

import sys

from .cli import main

sys.exit(main())
