"""Item key formats of the single table: the one place that knows them.

Partition ``dataset#<id>`` holds a dataset and everything below it, so a cascade delete
and a children check are single-partition queries:

=======================  ==========================================  =========================
item                     pk                                          sk
=======================  ==========================================  =========================
dataset                  ``dataset#<id>``                            ``dataset``
version                  ``dataset#<id>``                            ``version#<v>``
edition                  ``dataset#<id>``                            ``edition#<v>#<e>``
distribution             ``dataset#<id>``                            ``distribution#<v>#<e>#<d>``
feed summary             ``dataset#<id>``                            ``feed``
filter entry             ``filter#<name>#<value>``                   ``<dataset id>``
audit entry              ``history#<dataset id>#<incarnation>``      ``<timestamp>#<uuid>``
incarnation              ``incarnations#<dataset id>``               ``<incarnation>``
permissions head         ``permissions#<dataset id>``                ``head``
grant                    ``permissions#<dataset id>``                ``grant#<principal>``
grant, by principal      ``grants#<principal>``                      ``<dataset id>``
API token                ``tokens``                                  ``<token id>``
latest value             ``latest#<dataset id>#<incarnation>#<v>``   ``<series key>``
reject                   ``rejects#<dataset id>#<incarnation>#<v>``  ``<received>#<batch>#<i>``
idempotency key          ``idempotency#<dataset id>#<incarnation>``  ``<v>#<Idempotency-Key>``
event id                 ``event-ids#<dataset id>#<incarnation>#<v>`` ``<event id>``
change event             ``events``                                  ``<time>#<event id>``
outbox marker            ``outbox``                                  ``<time>#<event id>``
subscription             ``subscriptions``                           ``<subscription id>``
delivery                 ``deliveries#<subscription id>``            ``<time>#<event id>``
lineage hold             ``lineage-hold#<run id>``                   ``hold``
auth failure             ``auth-failures#<key>``                     ``at#<time>#<random>``
auth failures' newest    ``auth-failures#<key>``                     ``recent``
=======================  ==========================================  =========================

Event datasets (``catalogue.domain.events``): a latest value is one series' newest event,
written with ``PutNewer`` on its ``at`` (the event's time as the store compares it), so a
late older event never replaces it; its sort key is the series key text, so the latest
values of a version list in key order. A reject is an event that failed the schema, kept
in arrival order (``<i>``: its index in the batch, zero-padded). An idempotency key item
holds a batch's answer until its ``expiresAt`` (epoch seconds; an expired one is taken
over by the next batch with that key). All three belong to the dataset's incarnation, like
its audit trail, so a dataset made again with the id of a deleted one starts clean.

A dataset carries its ``incarnation`` (``YYYYMMDDTHHMMSS-<hex>``, new at every create of the
id); its audit trail, ETags, grants and runs belong to that incarnation, so a dataset made again
with the id of a deleted one starts clean.

Datasets also carry ``gsi1pk = "datasets"`` and ``gsi1sk = <id>`` so listing all datasets
is one index partition. Filter entries hold a copy of the filterable fields, so filters
combine without reading the datasets they reject.
"""

from __future__ import annotations

GSI1 = "gsi1"
ALL_DATASETS = "datasets"
DATASET_SK = "dataset"
DATASET_SCOPE = "dataset"
# The edition and distributions ``/catalog`` shows of a dataset (repositories.feed_summaries).
FEED_SK = "feed"


def dataset_pk(dataset: str) -> str:
    """Partition of a dataset and all its children."""
    return f"dataset#{dataset}"


def version_sk(version: str) -> str:
    return f"version#{version}"


def edition_sk(version: str, edition: str = "") -> str:
    """Sort key of an edition; with no edition, the prefix of all editions of the version."""
    return f"edition#{version}#{edition}"


def distribution_sk(version: str, edition: str, distribution: str = "") -> str:
    """Sort key of a distribution; with no id, the prefix of all of the edition's."""
    return f"distribution#{version}#{edition}#{distribution}"


FILTER_PREFIX = "filter#"


def filter_pk(name: str, value: str) -> str:
    """Partition listing the datasets whose field ``name`` has ``value``."""
    return f"{FILTER_PREFIX}{name}#{value}"


def audit_pk(dataset: str, incarnation: str | None) -> str:
    """The audit trail of one incarnation of a dataset id.

    Datasets made before incarnations existed have none and keep their first partition.
    The partition keeps the name it was first stored under, ``history#``.
    """
    return f"history#{dataset}" if incarnation is None else f"history#{dataset}#{incarnation}"


def incarnations_pk(dataset: str) -> str:
    """Partition listing every incarnation a dataset id has had, oldest first."""
    return f"incarnations#{dataset}"


def template_audit_pk(template: str, incarnation: str | None) -> str:
    """The audit trail of one incarnation of a pipeline template id (versions, deletion)."""
    return f"template-history#{template}#{incarnation or ''}"


# Pipeline templates: partition ``pipeline#<id>`` holds the head item (``sk = "pipeline"``,
# a copy of the latest version, listed in gsi1 partition ``pipelines``), one item per
# version (``version#<000001>``) and one ``used-by#<dataset>`` marker per dataset pipeline
# pinning it. A dataset's pipeline is ``(dataset#<id>, "pipeline")``.
ALL_PIPELINES = "pipelines"
PIPELINE_SK = "pipeline"
DATASET_PIPELINE_SK = "pipeline"


def pipeline_pk(template: str) -> str:
    return f"pipeline#{template}"


def pipeline_version_sk(version: int) -> str:
    """Zero-padded, so versions sort by number."""
    return f"version#{version:06d}"


def pipeline_use_sk(dataset: str = "") -> str:
    return f"used-by#{dataset}"


# Runs: partition ``run#<id>`` holds the run (``sk = "run"``), one ``step#<name>`` item per
# step and one ``output#<step>#<key>`` item per object a step wrote. Running runs carry
# ``gsi1pk = "runs#RUNNING"`` (found again after a restart without a scan), runs waiting for
# an upload ``gsi1pk = "runs#WAITING"``, ``gsi1sk = <uploadExpires>#<id>``; partition
# ``runs#<dataset>`` lists a dataset's runs by start time.
RUN_SK = "run"
RUNNING_RUNS = "runs#RUNNING"
# Runs waiting for an upload, sorted by when their upload URL expires (the sweep's index).
WAITING_RUNS = "runs#WAITING"


def run_pk(run: str) -> str:
    return f"run#{run}"


def step_sk(step: str = "") -> str:
    return f"step#{step}"


def output_sk(step: str = "", key: str = "") -> str:
    return f"output#{step}#{key}" if step else "output#"


def dataset_runs_pk(dataset: str) -> str:
    return f"runs#{dataset}"


PERMISSIONS_HEAD_SK = "head"
GRANT_PREFIX = "grant#"
TOKENS_PK = "tokens"
# The pages' sign-in sessions, each under the sha256 of its id (the cookie holds the id).
SESSIONS_PK = "sessions"
# The sessions again, in gsi1 by expiry: sign-ins remove those that expired unused.
SESSIONS_BY_EXPIRY = "sessions#expiry"


def permissions_pk(dataset: str) -> str:
    """Partition of a dataset's grants and of the head item that serialises their changes."""
    return f"permissions#{dataset}"


def grant_sk(principal: str) -> str:
    return f"{GRANT_PREFIX}{principal}"


def grants_pk(principal: str) -> str:
    """Partition listing the datasets a principal holds grants on (``GET /me``)."""
    return f"grants#{principal}"


def latest_pk(dataset: str, incarnation: str, version: str) -> str:
    """The latest value of every series of one version of an event dataset."""
    return f"latest#{dataset}#{incarnation}#{version}"


def rejects_pk(dataset: str, incarnation: str, version: str) -> str:
    """The events of one version that failed its schema, in arrival order."""
    return f"rejects#{dataset}#{incarnation}#{version}"


def reject_sk(received: str, batch: str, index: int) -> str:
    return f"{received}#{batch}#{index:04d}"


def event_id_pk(dataset: str, incarnation: str, version: str) -> str:
    """The ids of the accepted events of one version (``source.id``); the sort key is the id."""
    return f"event-ids#{dataset}#{incarnation}#{version}"


def idempotency_pk(dataset: str, incarnation: str) -> str:
    return f"idempotency#{dataset}#{incarnation}"


def idempotency_sk(version: str, key: str) -> str:
    return f"{version}#{key}"


def event_window_pk(dataset: str, incarnation: str) -> str:
    """The batch windows of an event dataset's history, each with the edition it became."""
    return f"eventwindows#{dataset}#{incarnation}"


def event_window_sk(version: str, window: str) -> str:
    return f"{version}#{window}"


def event_schema_pk(dataset: str, incarnation: str) -> str:
    """The history schemas an event dataset's events were accepted under (aws: the windows
    Firehose delivers name theirs), ``sk`` = the schema's digest."""
    return f"eventschemas#{dataset}#{incarnation}"


# Change events (the outbox): partition ``events`` holds every event, ``sk`` =
# ``<YYYYMMDDTHHMMSS.ffffff>#<id>`` so it reads oldest first; ``gsi1pk = events#<dataset>``
# lists one dataset's. Each event has an ``outbox`` marker (same ``sk``) until the
# dispatcher has handed it to its subscriptions.
EVENTS_PK = "events"
OUTBOX_PK = "outbox"


def event_sk(at: str, event_id: str) -> str:
    return f"{at}#{event_id}"


def dataset_events_pk(dataset: str) -> str:
    """The gsi1 partition listing one dataset's events, oldest first."""
    return f"events#{dataset}"


# Webhook subscriptions: partition ``subscriptions`` holds every subscription (``sk`` = its
# id; the dispatcher reads them all), ``gsi1pk = subscriptions#<principal>`` lists a
# caller's own. Partition ``deliveries#<subscription>`` holds one delivery per event
# (``sk`` = the event's ``sk``, oldest first); a delivery waiting for its next attempt is in
# gsi1 partition ``deliveries#due`` by ``<next attempt time>#<subscription>#<event sk>``.
SUBSCRIPTIONS_PK = "subscriptions"
DUE_DELIVERIES = "deliveries#due"


def principal_subscriptions_pk(principal: str) -> str:
    return f"subscriptions#{principal}"


def deliveries_pk(subscription: str) -> str:
    return f"deliveries#{subscription}"


# While an OpenLineage delivery of a run waits for its retry, the run's hold names it (its
# ``sk``): the run's later lineage deliveries wait behind it, so they arrive in order.
LINEAGE_HOLD_SK = "hold"


def lineage_hold_pk(run: str) -> str:
    return f"lineage-hold#{run}"


# A failed authentication (``catalogue.repositories.auth_failures``) of a throttle key
# (``address:<client>``, ``token:<id>``): its time in whole microseconds since the epoch,
# zero-padded so the partition lists in time order, and a random suffix, so failures in
# the same microsecond (in two processes) are two items. The partition's ``recent`` item
# holds the time of the newest.
AUTH_FAILURE_PREFIX = "at#"
AUTH_FAILURES_RECENT_SK = "recent"


def auth_failures_pk(key: str) -> str:
    return f"auth-failures#{key}"


def auth_failure_sk(at: float, suffix: str) -> str:
    return f"{AUTH_FAILURE_PREFIX}{round(at * 1_000_000):020d}#{suffix}"
