from __future__ import annotations

import sys

from logpipe.cli import main

sys.exit(main())
