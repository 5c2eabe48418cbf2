"""``python -m brygge.cli``: the ``brygge`` command."""

from __future__ import annotations

import sys

from brygge.cli import main

sys.exit(main())
