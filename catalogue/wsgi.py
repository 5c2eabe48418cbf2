"""The module-level ``app`` that gunicorn and Zappa import; the only module that works on import."""

from __future__ import annotations

from catalogue.app import create_app

app = create_app()
_settings = app.extensions["brygge"].settings
if _settings.backend == "local" and _settings.database_path.exists():
    # A local server under gunicorn starts here, in each worker: the runs a crash interrupted
    # go on (the store hands each one to a single worker). `brygge serve` does this in
    # ``recover_at_startup``; on AWS, Step Functions keeps runs going by itself, and a new
    # home has nothing to resume.
    app.extensions["brygge"].runs.resume_interrupted()
    # Each worker closes its own batch windows of event datasets, and those of dead workers.
    app.extensions["brygge"].event_history.start_timer(_settings.event_flush_interval_s)
    # Requests commit without waiting for the disk to take in the WAL.
    from catalogue.store.sqlite_checkpoints import start_checkpoints

    start_checkpoints(app.extensions["brygge"].store)
