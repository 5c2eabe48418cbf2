"""Runs kept in the catalogue's store and driven from there.

``service`` (RunService: create, start, track, abort and redrive runs; the Step Functions
side), ``local`` (the worker pool driving local runs on Brygge's engine, and resuming them
after a crash), ``listener`` (a local run's transitions, into the store), ``recorder`` (what
steps report, into the store; also used by the steps Lambda) and ``templates`` (the
pipeline template repository, deploying state machines in aws mode). The engine side,
which knows nothing of the store, is ``pipelines.runs``.

Nothing is imported here: the steps Lambda imports ``catalogue.runs.recorder`` alone.
"""

from __future__ import annotations
