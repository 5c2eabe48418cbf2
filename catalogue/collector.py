"""Pausing Python's cyclic garbage collector around work that makes many objects and no cycles.

A collection walks every tracked object; while a feed export or the application's start
builds hundreds of thousands of dicts, tuples and lists, the collector keeps running over
them and frees nothing (they are freed by reference counting, or live on). At 10,000
datasets that cost a third of the DCAT export (``bench/catalog.py``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection inside the block; the collector is left as it was found.

    The collector is the process's: other threads go without it meanwhile, which suits
    blocks of seconds at most. Nested and concurrent blocks leave it enabled once the
    first one that found it enabled ends.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
