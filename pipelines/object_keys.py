"""The object key layout, shared by S3 and the local object directory.

``<stage>/<green|yellow|red>/<dataset>/version=<v>/edition=<e>/[<step>/]<file>``

Besides, on AWS, Amazon Data Firehose delivers the events of event datasets under
``raw/<green|yellow|red>/<dataset>/version=<v>/events/...`` (``DeliveredEvents``); each such
object becomes an edition of its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from pipelines.errors import InvalidValue

STAGES = ("raw", "intermediate", "processed")
# Access rules per prefix stay simple when the access level is part of the key.
ZONES = {"public": "green", "restricted": "yellow", "non-public": "red"}
ACCESS_BY_ZONE = {zone: access for access, zone in ZONES.items()}

MAX_FILENAME_BYTES = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY = re.compile(
    r"^(?P<stage>raw|intermediate|processed)/(?P<zone>green|yellow|red)/(?P<dataset>[a-z0-9-]+)"
    r"/version=(?P<version>[^/]+)/edition=(?P<edition>[^/]+)/(?P<rest>.+)$"
)


_DELIVERED = re.compile(
    r"^raw/(?P<zone>green|yellow|red)/(?P<dataset>[a-z0-9-]+)/version=(?P<version>[^/]+)"
    r"/events/(?P<name>[^\x00]+)$"
)
DELIVERED_EVENTS_FOLDER = "events"


@dataclass(frozen=True, slots=True)
class DeliveredEvents:
    """An object of events Firehose delivered: whose they are and its name below ``events/``."""

    access_rights: str
    dataset: str
    version: str
    name: str


def delivered_events_prefix(
    access_rights: str, dataset: str, version: str, schema: str | None = None
) -> str:
    """Where Firehose delivers a version's events (what its dynamic partitioning makes);
    with ``schema``, those accepted under the schema of that digest."""
    prefix = f"raw/{ZONES[access_rights]}/{dataset}/version={version}/{DELIVERED_EVENTS_FOLDER}/"
    return prefix if schema is None else f"{prefix}schema={schema}/"


def parse_delivered_events(key: str) -> DeliveredEvents | None:
    """The delivered events object ``key`` names; None for any other key."""
    match = _DELIVERED.match(key)
    if match is None or ".." in match["name"].split("/"):
        return None
    return DeliveredEvents(
        ACCESS_BY_ZONE[match["zone"]], match["dataset"], match["version"], match["name"]
    )


@dataclass(frozen=True, slots=True)
class ObjectKey:
    """A parsed object key."""

    stage: str
    access_rights: str
    dataset: str
    version: str
    edition: str
    filename: str
    step: str | None = None

    def __str__(self) -> str:
        parts = [
            self.stage,
            ZONES[self.access_rights],
            self.dataset,
            f"version={self.version}",
            f"edition={self.edition}",
        ]
        if self.step:
            parts.append(self.step)
        parts.append(self.filename)
        return "/".join(parts)

    @property
    def prefix(self) -> str:
        """The key without its file name, ending in ``/``."""
        return str(self).removesuffix(self.filename)

    def for_step(self, step: str, filename: str | None = None) -> ObjectKey:
        """The key of a step's intermediate output derived from this key."""
        return replace(
            self,
            stage="intermediate",
            step=check_segment("step", step),
            filename=filename or self.filename,
        )

    def published(self, filename: str | None = None) -> ObjectKey:
        """The key under ``processed/`` for this object."""
        return replace(self, stage="processed", step=None, filename=filename or self.filename)


def clean_filename(name: str) -> str:
    """Return the NFC form of an uploaded file's name.

    Raises InvalidValue(field="filename") for names with a path separator, ``..``,
    control characters, leading dots or spaces only, lone surrogates, or more than 255 bytes.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidValue("filename", "must not be empty")
    name = unicodedata.normalize("NFC", name)
    if "/" in name or "\\" in name:
        raise InvalidValue("filename", "must not contain / or \\")
    if name in (".", "..") or ".." in name:
        raise InvalidValue("filename", "must not contain ..")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise InvalidValue("filename", "must not contain control characters")
    if name != name.strip() or name.startswith("."):
        raise InvalidValue("filename", "must not start with a dot or start or end with a space")
    try:
        size = len(name.encode())
    except UnicodeEncodeError:
        raise InvalidValue("filename", "must be UTF-8 text (no lone surrogates)") from None
    if size > MAX_FILENAME_BYTES:
        raise InvalidValue("filename", f"must be at most {MAX_FILENAME_BYTES} bytes in UTF-8")
    return name


def check_segment(field: str, value: str) -> str:
    """Return ``value`` if it is safe as one key segment (step name, version, edition)."""
    if not _SEGMENT.match(value):
        raise InvalidValue(field, "must be letters, digits, '.', '_' or '-' (at most 128)")
    return value


def object_key(
    stage: str,
    access_rights: str,
    dataset: str,
    version: str,
    edition: str,
    filename: str,
    step: str | None = None,
) -> ObjectKey:
    """Build a validated key; raises InvalidValue naming the bad part."""
    if stage not in STAGES:
        raise InvalidValue("stage", f"must be one of {', '.join(STAGES)}")
    if access_rights not in ZONES:
        raise InvalidValue("accessRights", f"must be one of {', '.join(ZONES)}")
    if not re.fullmatch(r"[a-z0-9-]{1,64}", dataset):
        raise InvalidValue("dataset", "must be lowercase a-z, 0-9 and '-'")
    return ObjectKey(
        stage=stage,
        access_rights=access_rights,
        dataset=dataset,
        version=check_segment("version", version),
        edition=check_segment("edition", edition),
        filename=clean_filename(filename),
        step=check_segment("step", step) if step else None,
    )


def parse_object_key(key: str) -> ObjectKey:
    """Parse a key of the layout; raises InvalidValue(field="key") for any other key."""
    match = _KEY.match(key)
    if not match:
        raise InvalidValue("key", f"{key!r} is not in the object key layout")
    rest = match["rest"].split("/")
    if len(rest) > 2 or (len(rest) == 2 and match["stage"] != "intermediate"):
        raise InvalidValue("key", f"{key!r} is not in the object key layout")
    step, filename = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
    return object_key(
        match["stage"],
        ACCESS_BY_ZONE[match["zone"]],
        match["dataset"],
        match["version"],
        match["edition"],
        filename,
        step,
    )


def check_edition_keys(
    keys: list[str], access_rights: str, dataset: str, version: str, edition: str
) -> list[str]:
    """Return ``keys`` if each is an object of this edition of the dataset.

    Raises InvalidValue(input.keys) naming the position of the first other key. The check
    reads the keys' text only, so the answer is the same whether or not an object exists,
    and names no part of the refused key.
    """
    expected = (ZONES[access_rights], dataset, version, edition)
    for index, key in enumerate(keys):
        try:
            parsed = parse_object_key(key)
        except InvalidValue:
            parsed = None
        if (
            parsed is None
            or (
                ZONES[parsed.access_rights],
                parsed.dataset,
                parsed.version,
                parsed.edition,
            )
            != expected
        ):
            prefix = f"{ZONES[access_rights]}/{dataset}/version={version}/edition={edition}/"
            raise InvalidValue(
                "input.keys",
                f"keys[{index}] is not an object of dataset {dataset!r}, version {version!r}, "
                f"edition {edition!r}: its keys are <stage>/{prefix}...",
            )
    return keys
