"""``python -m bot.cli``: the ``newsbot`` command without its console script."""

import sys

from .main import main

sys.exit(main())
