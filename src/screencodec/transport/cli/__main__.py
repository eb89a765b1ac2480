"""``python -m screencodec.transport.cli host|view|relay ...``."""

import sys

from screencodec.transport.cli.main import main

sys.exit(main())
