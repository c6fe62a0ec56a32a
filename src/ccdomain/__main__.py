"""``python -m ccdomain``: the ``ccdomain`` command."""

import sys

from ccdomain.cli import main

sys.exit(main())
