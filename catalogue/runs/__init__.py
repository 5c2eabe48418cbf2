"""Runs kept in the catalogue's store and driven from there.

``service`` (RunService: create, start, track, abort, redrive, resume; the local worker
pool and the Step Functions side), ``listener`` (a local run's transitions into the
store), ``recorder`` (what steps report, into the store; also used by the steps Lambda)
and ``templates`` (the pipeline template repository, deploying machines in aws mode).
The engine side, which knows nothing of the store, is ``pipelines.runs``.

Nothing is imported here: the steps Lambda imports ``catalogue.runs.recorder`` alone.
"""

from __future__ import annotations
