"""The one settings object, read from ``BRYGGE_*`` environment variables once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from catalogue.domain import addresses
from pipelines.steps.contract import MAX_CELLS, MAX_UNCOMPRESSED_BYTES, StepLimits

BACKENDS = ("local", "aws")
AUTH_MODES = ("on", "off")
# "process": local steps run in worker processes under limits; "thread": in the server itself.
STEP_ISOLATION = ("process", "thread")


class SettingsError(ValueError):
    """A ``BRYGGE_*`` variable has a value Brygge cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about one Brygge process.

    Each field maps to ``BRYGGE_<FIELD_NAME_IN_CAPITALS>``; the README lists them all.
    """

    backend: str = "local"
    home: Path = Path(".brygge")
    dynamodb_table: str = "brygge"
    data_bucket: str = "brygge-data"
    open_data_bucket: str = ""
    open_data_dir: Path | None = None
    # The public https URL of the open-data location's root (download URLs of the feed).
    open_data_base_url: str = ""
    # The API's public URL; links are built from the request when it is empty.
    base_url: str = ""
    # Honour X-Forwarded-Proto/Host/Prefix: only behind a proxy that sets them itself.
    trust_proxy: bool = False
    # Origins of browser apps that may call the API (CORS), or "*": none by default.
    cors_origins: tuple[str, ...] = ()
    # Webhooks may reach private, loopback and shared addresses (never link-local or the
    # metadata address): for receivers inside one's own network, and local development.
    webhook_allow_private: bool = False
    # OpenLineage: where run events go, read from openlineage-python's own variables
    # (OPENLINEAGE_URL, OPENLINEAGE_API_KEY); the jobs' namespace is BRYGGE_OPENLINEAGE_NAMESPACE.
    openlineage_url: str = ""
    # Tests only: fetches of SNS URLs (signing certificates, subscription confirmations),
    # once checked to be https://sns.<region>.amazonaws.com/..., go to this base URL instead.
    sns_fetch_url: str = ""
    openlineage_api_key: str = ""
    openlineage_namespace: str = "brygge"
    # The DCAT-AP catalogue's own metadata (``GET /catalog``, ``brygge publish``).
    catalog_title: str = ""
    catalog_description: str = ""
    catalog_publisher_name: str = ""
    catalog_publisher_uri: str = ""
    catalog_contact_name: str = ""
    catalog_contact_email: str = ""
    catalog_homepage: str = ""
    # "off" makes every request act as ``principal`` with every scope: one user, no tokens.
    auth: str = "on"
    principal: str = "user:local"
    admins: tuple[str, ...] = ()
    secret_key: str = ""
    oidc_issuer: str = ""
    oidc_audience: str = ""
    oidc_jwks_url: str = ""
    oidc_teams_claim: str = "groups"
    steps_function: str = "brygge-steps"
    state_machine_role_arn: str = "arn:aws:iam::123456789012:role/brygge-states"
    state_machine_prefix: str = "brygge-"
    # The role the steps function assumes per step, with a session policy limited to the
    # step's run (aws mode; empty: steps use the function's own role).
    step_scope_role_arn: str = ""
    workers: int = 2
    upload_max_bytes: int = 5 * 1024**3
    upload_url_ttl_s: int = 3600
    # How long after its URL expired an upload may still be arriving (a transfer started in
    # time); after it the run expires and partial files of broken transfers are removed.
    upload_grace_s: int = 3600
    sweep_interval_s: int = 300
    download_url_ttl_s: int = 300
    # Event datasets' history: how often a local server closes due batch windows, and (aws)
    # the Amazon Data Firehose delivery stream accepted events are put to.
    event_flush_interval_s: int = 1
    events_stream: str = "brygge-events"
    # Limits of one local step (worker processes): address space, CPU time, wall time when
    # the Task state sets no TimeoutSeconds; and what a step may read (taskConfig can only
    # lower these two, never raise them).
    step_isolation: str = "process"
    step_memory_mb: int = 4096
    step_cpu_seconds: int = 3600
    step_timeout_seconds: int = 3600
    step_max_cells: int = MAX_CELLS
    step_max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES
    # Bounds of one local run; AWS's own values where they apply (25,000 history events),
    # but a day rather than Standard's year for a run's duration on one machine.
    run_max_seconds: int = 24 * 3600
    run_max_history_events: int = 25_000
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``).

        Raises SettingsError naming the variable whose value is unusable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            if spec.name == "extra":
                continue
            variable = _FOREIGN_VARIABLES.get(spec.name, f"BRYGGE_{spec.name.upper()}")
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[spec.name] = _parse(variable, spec.name, raw)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Raise SettingsError if the combination of values cannot work."""
        if self.backend not in BACKENDS:
            raise SettingsError(
                f"BRYGGE_BACKEND must be one of {', '.join(BACKENDS)}, not {self.backend!r}"
            )
        if self.auth not in AUTH_MODES:
            raise SettingsError(f"BRYGGE_AUTH must be on or off, not {self.auth!r}")
        if self.oidc_jwks_url and not (self.oidc_issuer and self.oidc_audience):
            raise SettingsError(
                "BRYGGE_OIDC_JWKS_URL needs BRYGGE_OIDC_ISSUER and BRYGGE_OIDC_AUDIENCE as well"
            )
        for name in ("upload_url_ttl_s", "upload_grace_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"BRYGGE_{name.upper()} must not be negative")
        if self.sweep_interval_s < 1:
            raise SettingsError("BRYGGE_SWEEP_INTERVAL_S must be at least 1")
        if self.event_flush_interval_s < 1:
            raise SettingsError("BRYGGE_EVENT_FLUSH_INTERVAL_S must be at least 1")
        if self.step_isolation not in STEP_ISOLATION:
            raise SettingsError(
                f"BRYGGE_STEP_ISOLATION must be one of {', '.join(STEP_ISOLATION)}, "
                f"not {self.step_isolation!r}"
            )
        for name in _POSITIVE_FIELDS:
            if getattr(self, name) < 1:
                raise SettingsError(f"BRYGGE_{name.upper()} must be at least 1")
        if self.workers < 1:
            raise SettingsError("BRYGGE_WORKERS must be at least 1")
        for variable, url in (
            ("BRYGGE_BASE_URL", self.base_url),
            ("BRYGGE_OPEN_DATA_BASE_URL", self.open_data_base_url),
            ("OPENLINEAGE_URL", self.openlineage_url),
            ("BRYGGE_SNS_FETCH_URL", self.sns_fetch_url),
        ):
            if url and not is_base_url(url):
                raise SettingsError(
                    f"{variable} must be an absolute http(s) URL without query or fragment "
                    f"(https://data.example.org/api), not {url!r}"
                )
        # The catalogue's own description in every feed: a value no feed can state would be
        # dropped without a word (or break the feed), so it is refused here.
        for variable, url in (
            ("BRYGGE_CATALOG_PUBLISHER_URI", self.catalog_publisher_uri),
            ("BRYGGE_CATALOG_HOMEPAGE", self.catalog_homepage),
        ):
            if url and not addresses.is_iri(url):
                raise SettingsError(
                    f"{variable} must be an absolute http(s) URL without spaces "
                    f"(https://data.example.org/), not {url!r}"
                )
        if self.catalog_contact_email and not addresses.is_email(self.catalog_contact_email):
            raise SettingsError(
                "BRYGGE_CATALOG_CONTACT_EMAIL must be an e-mail address (data@example.org), "
                f"not {self.catalog_contact_email!r}"
            )
        check_cors_origins(self.cors_origins, self.auth)
        if ":" not in self.principal:
            raise SettingsError("BRYGGE_PRINCIPAL must look like user:<name> or client:<name>")

    @property
    def step_limits(self) -> StepLimits:
        """What one step may read, as the steps see it."""
        return StepLimits(
            max_cells=self.step_max_cells, max_uncompressed_bytes=self.step_max_uncompressed_bytes
        )

    @property
    def database_path(self) -> Path:
        """The SQLite file of the embedded store."""
        return self.home / "brygge.sqlite3"

    @property
    def objects_dir(self) -> Path:
        """The local object directory (same key layout as S3)."""
        return self.home / "objects"

    @property
    def site_admins(self) -> tuple[str, ...] | None:
        """The principals and teams that are site admins; None when authentication is off
        (every caller is one then)."""
        return None if self.auth == "off" else self.admins

    @property
    def signing_key(self) -> bytes:
        """Key for HMAC-signed local URLs; a per-home random key when none is configured."""
        if self.secret_key:
            return self.secret_key.encode()
        key_file = self.home / "secret.key"
        if not key_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(os.urandom(32).hex().encode())
        return key_file.read_bytes()


def is_base_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host and neither query nor fragment."""
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.query
        and not parts.fragment
        and "#" not in url
        and "?" not in url
    )


def check_cors_origins(origins: tuple[str, ...], auth: str) -> None:
    """Raise SettingsError unless each origin is one a browser sends, or ``*`` stands alone.

    A browser's ``Origin`` is scheme, host and a port other than the default, nothing else:
    a value written otherwise (a trailing slash, a path, ``:443``) would match no call.
    """
    if "*" in origins:
        if len(origins) > 1:
            raise SettingsError("BRYGGE_CORS_ORIGINS is either * or a list of origins, not both")
        if auth == "off":
            # Every request acts with every scope: any site a user visits could use the API.
            raise SettingsError("BRYGGE_CORS_ORIGINS=* needs BRYGGE_AUTH=on; name the origins")
        return
    for origin in origins:
        if origin != serialized_origin(origin):
            raise SettingsError(
                "BRYGGE_CORS_ORIGINS takes origins as browsers send them, scheme and host and "
                f"any port other than the default (https://app.example.org), not {origin!r}"
            )


def serialized_origin(url: str) -> str:
    """``url``'s origin as a browser's ``Origin`` header says it; empty if it has none."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


_POSITIVE_FIELDS = (
    "step_memory_mb",
    "step_cpu_seconds",
    "step_timeout_seconds",
    "step_max_cells",
    "step_max_uncompressed_bytes",
    "run_max_seconds",
    "run_max_history_events",
)
_INT_FIELDS = {
    "workers",
    "upload_max_bytes",
    "upload_url_ttl_s",
    "upload_grace_s",
    "sweep_interval_s",
    "download_url_ttl_s",
    "event_flush_interval_s",
    *_POSITIVE_FIELDS,
}
_PATH_FIELDS = {"home", "open_data_dir"}
# Settings named as another tool names them, so one variable configures both.
_FOREIGN_VARIABLES = {
    "openlineage_url": "OPENLINEAGE_URL",
    "openlineage_api_key": "OPENLINEAGE_API_KEY",
}
_BOOL_FIELDS = {"trust_proxy", "webhook_allow_private"}
_BOOLEANS = dict.fromkeys(("on", "true", "yes", "1"), True) | dict.fromkeys(
    ("off", "false", "no", "0"), False
)


def _parse(variable: str, name: str, raw: str) -> object:
    if name in _INT_FIELDS:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{variable} must be an integer, not {raw!r}") from None
    if name in _PATH_FIELDS:
        return Path(raw)
    if name in ("admins", "cors_origins"):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if name in ("base_url", "open_data_base_url"):
        return raw.rstrip("/")
    if name in _BOOL_FIELDS:
        value = _BOOLEANS.get(raw.strip().lower())
        if value is None:
            raise SettingsError(f"{variable} must be on or off, not {raw!r}")
        return value
    return raw
