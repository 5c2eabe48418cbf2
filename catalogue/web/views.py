"""What each page shows, read from the repositories and services (no Flask request here)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from markupsafe import Markup

from catalogue.auth.permissions import visible
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.selection import all_items, newest_publish_item, version_order
from catalogue.domain.errors import NotFound
from catalogue.links import absolute_url, link_to
from catalogue.repositories.records import resource
from catalogue.services import repositories, services
from catalogue.store.base import Item
from catalogue.web.graph import svg

# Search form fields passed on to the list query; empty ones mean "any".
SEARCH_FIELDS = (
    "q",
    "sort",
    "owner",
    "accessRights",
    "keyword",
    "theme",
    "state",
    "format",
    "limit",
    "cursor",
)
# The search form's own controls. A refused value of any other field (a filter a facet set,
# the cursor) is sent by the form as a whole: read with the search box.
SEARCH_CONTROLS = ("q", "sort", "accessRights", "state", "limit")
SEARCH_BOX = "q"
# A refused search field as the page names it: a control by its label, a filter set by a
# facet by the facet's heading; the JSON API's errors keep the field names.
SEARCH_LABELS = {
    "q": "Search datasets",
    "sort": "Sort",
    "accessRights": "Access",
    "state": "State",
    "owner": "Owner",
    "keyword": "Keyword",
    "theme": "Theme",
    "format": "Format",
    "limit": "Results per page",
}
# A cursor is refused when it is of another search or from before the service changed: the
# visitor followed a page link, and can only start again.
STALE_CURSOR = "This page link is out of date; start the search again."
EDITIONS_SHOWN = 20
PAGE_SIZES = (10, 20, 50, 100)
TABULAR_FORMATS = {"csv": "csv", "parquet": "parquet", "text/csv": "csv"}


def page_sizes(limit: int | str | None, default: int) -> list[int]:
    """The search form's choices of results per page: the usual ones, the default and the
    page's own (a link may ask for any size the API takes)."""
    shown = {*PAGE_SIZES, default}
    if limit is not None and str(limit).isdigit():
        shown.add(int(limit))
    return sorted(shown)


def search_filters(args: Mapping[str, str]) -> dict[str, str]:
    """The query of the search form without its empty fields (a blank select means any).

    The form always sends its sort: relevance, its default, has no words to rank without a
    query (datasets then list in id order); newest or title first order any listing.
    """
    found = {name: args[name].strip() for name in SEARCH_FIELDS if args.get(name, "").strip()}
    if "q" not in found and found.get("sort") == "relevance":
        del found["sort"]
    return found


def search_errors(messages: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each refused search field: its label (None for the cursor, whose reason says it
    all), its reasons, the id of their message, the control they are read with
    (search.html ties them with aria-describedby, as search.js does as one types)."""
    return [
        {
            "name": name,
            "label": None if name == "cursor" else SEARCH_LABELS.get(name, name),
            "reasons": [STALE_CURSOR] if name == "cursor" else reasons,
            "id": f"search-error-{name}",
            "control": name if name in SEARCH_CONTROLS else SEARCH_BOX,
        }
        for name, reasons in messages.items()
    ]


def described_by(errors: list[dict[str, Any]]) -> dict[str, str]:
    """The ``aria-describedby`` of each search control with a refused value."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error["control"], []).append(error["id"])
    return {control: " ".join(ids) for control, ids in found.items()}


def dataset_view(item: Item, *, is_owner: bool) -> dict[str, Any]:
    """Everything the dataset page shows; the caller has checked the read permission.

    ``item`` is the dataset's item as the check read it: the page reads it no more.
    """
    repos = repositories()
    dataset = resource(item)
    dataset_id = dataset["id"]
    # Versions and editions are read once: for the timeline, and for finding the newest
    # edition with distributions (only past the editions shown is anything read again).
    versions = list(
        all_items(
            lambda cursor: repos.versions.list(
                [dataset_id], limit=100, cursor=cursor, parent_known=True
            )
        )
    )
    shown = {
        version["version"]: repos.editions.list(
            [dataset_id, version["version"]], limit=EDITIONS_SHOWN, cursor=None, parent_known=True
        )
        for version in versions
    }

    def editions_of(version: str) -> Iterator[dict[str, Any]]:
        page = shown[version]
        yield from page.items
        if page.next_cursor:
            yield from all_items(
                lambda cursor: repos.editions.list(
                    [dataset_id, version], limit=EDITIONS_SHOWN, cursor=cursor, parent_known=True
                ),
                page.next_cursor,
            )

    newest = newest_publish_item(repos, dataset, list(shown), editions_of)
    timeline = [
        # An edition names the run that published it (``run``).
        {"version": version, "editions": shown[version["version"]].items}
        for version in sorted(versions, key=lambda v: version_order(v["version"]), reverse=True)
    ]
    distributions = [
        {**distribution, "download": _download_link(dataset_id, newest, distribution)}
        for distribution in newest.distributions
    ]
    return {
        "dataset": dataset,
        "is_owner": is_owner,
        "missing": missing_for_publication(dataset, newest.distributions),
        "timeline": timeline,
        "newest_edition": newest.editions[0] if newest.editions else None,
        "distributions": distributions,
        "snippets": snippets(dataset, distributions),
        "derived_from": lineage(dataset.get("wasDerivedFrom") or []),
        "dcat_links": {
            "Turtle": link_to("datasets.DatasetById", dataset_id=dataset_id, format="turtle"),
            "JSON-LD": link_to("datasets.DatasetById", dataset_id=dataset_id, format="jsonld"),
        },
        "schema_org": schema_org(dataset, distributions),
    }


def _download_link(dataset_id: str, newest: Any, distribution: Mapping[str, Any]) -> str:
    edition = newest.editions[0]
    return link_to(
        "uploads.Download",
        dataset_id=dataset_id,
        version=edition["version"] if "version" in edition else distribution.get("version", "1"),
        edition=edition["edition"],
        distribution=distribution["id"],
    )


def lineage(sources: list[str]) -> list[dict[str, Any]]:
    """``wasDerivedFrom`` sources: linked when the visitor may see them, else the id alone."""
    if not sources:
        return []
    check = visible()
    found = repositories().datasets.items(sources)
    shown = {item["id"] for item in found if check is None or check(item)}
    return [{"id": source, "visible": source in shown} for source in sources]


def snippets(dataset: Mapping[str, Any], distributions: list[dict[str, Any]]) -> dict[str, str]:
    """Code that loads the newest distribution: curl, Python with polars, DuckDB, brygge."""
    if not distributions:
        return {}
    distribution = distributions[0]
    url = distribution["download"]
    filename = (distribution.get("filenames") or [f"{dataset['id']}.data"])[0]
    kind = _tabular_kind(distribution)
    auth = dataset.get("accessRights") != "public"
    header = ' -H "Authorization: Bearer $BRYGGE_TOKEN"' if auth else ""
    reader = "read_parquet" if kind == "parquet" else "read_csv"
    options = ', storage_options={"Authorization": "Bearer " + token}' if auth else ""
    token_line = 'import os\ntoken = os.environ["BRYGGE_TOKEN"]\n' if auth else ""
    # An uploader names the file: quoted for the shell and as an SQL string literal, so a
    # visitor who pastes a snippet runs nothing the name holds.
    shell_name = shlex.quote(filename)
    sql_name = filename.replace("'", "''")
    found = {
        "curl": f'curl -L{header} -o {shell_name} "{url}"',
        "brygge": f"brygge download ds:{dataset['id']}",
    }
    if kind:
        found["Python (polars)"] = (
            f"{token_line}import polars as pl\n\n"
            f'df = pl.{reader}("{url}"{options})\nprint(df.head())'
        )
        found["DuckDB"] = (
            f"INSTALL httpfs; LOAD httpfs;\nSELECT * FROM {reader}('{url}') LIMIT 10;"
            if not auth
            else f'-- after: curl -L{header} -o {shell_name} "{url}"\n'
            f"SELECT * FROM {reader}('{sql_name}') LIMIT 10;"
        )
    return found


def _tabular_kind(distribution: Mapping[str, Any]) -> str | None:
    for value in (distribution.get("format"), distribution.get("mediaType")):
        if isinstance(value, str):
            kind = TABULAR_FORMATS.get(value.lower()) or (
                "parquet" if "parquet" in value.lower() else None
            )
            if kind:
                return kind
    names = distribution.get("filenames") or []
    for name in names:
        suffix = str(name).rpartition(".")[2].lower()
        if suffix in ("csv", "parquet"):
            return suffix
    return None


def schema_org(dataset: Mapping[str, Any], distributions: list[dict[str, Any]]) -> dict[str, Any]:
    """The schema.org ``Dataset`` search engines index, from the DCAT fields."""
    found: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": absolute_url(f"/datasets/{dataset['id']}"),
        "identifier": dataset["id"],
        "name": dataset.get("title"),
        "description": dataset.get("description") or dataset.get("title"),
        "url": absolute_url(f"/datasets/{dataset['id']}"),
        "keywords": dataset.get("keywords") or [],
        "isAccessibleForFree": dataset.get("accessRights") == "public",
    }
    optional = {
        "license": dataset.get("license"),
        "dateCreated": dataset.get("created"),
        "dateModified": dataset.get("modified"),
        "spatialCoverage": dataset.get("spatial"),
        "inLanguage": dataset.get("language"),
    }
    found.update({name: value for name, value in optional.items() if value})
    if dataset.get("publisher"):
        found["publisher"] = {"@type": "Organization", "name": dataset["publisher"]}
    contact = dataset.get("contactPoint") or {}
    if contact.get("email"):
        found["creator"] = {
            "@type": "Organization",
            "name": contact.get("name") or dataset.get("owner"),
            "email": contact["email"],
        }
    temporal = dataset.get("temporal") or {}
    if temporal.get("start") or temporal.get("end"):
        found["temporalCoverage"] = f"{temporal.get('start', '..')}/{temporal.get('end', '..')}"
    found["distribution"] = [
        {
            "@type": "DataDownload",
            "contentUrl": distribution["download"],
            "encodingFormat": distribution.get("mediaType") or distribution.get("format"),
            **(
                {"contentSize": f"{distribution['byteSize']} B"}
                if distribution.get("byteSize")
                else {}
            ),
        }
        for distribution in distributions
    ]
    return found


def run_graph(run: Mapping[str, Any]) -> Markup | None:
    """The SVG of the run's pipeline, its states coloured by outcome; None without one."""
    pipeline = run.get("pipeline")
    if not pipeline:
        return None
    try:
        template = services().pipelines.get_version(pipeline["template"], pipeline["version"])
    except NotFound:
        return None
    definition = template.get("definition")
    if isinstance(definition, str):
        definition = json.loads(definition)
    status = {step["name"]: step.get("status", "idle").lower() for step in run.get("steps") or []}
    return svg(definition, status, f"Pipeline {pipeline['template']} of run {run['id']}")


def run_summaries(run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each step with its duration in seconds, the rows it wrote and how many it rejected,
    for the steps table.

    A rejects file holds a line per broken rule, not a row: its lines are no rows of the
    data (a step that kept 2 rows of 3 showed 3).
    """
    found = []
    for step in run.get("steps") or []:
        summary = step.get("summary") or {}
        rejects = set(summary.get("rejectsKeys") or ())
        rows = [
            output["rows"]
            for output in step.get("outputs") or []
            if output.get("rows") is not None and output.get("key") not in rejects
        ]
        rejected = summary.get("rejected")
        found.append(
            {
                **step,
                "duration_s": _seconds_between(step.get("startedAt"), step.get("endedAt")),
                "rows": sum(rows) if rows else None,
                "rejected": rejected if isinstance(rejected, int) and rejected else None,
            }
        )
    return found


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()
