"""The publish gate: what a dataset lacks before DCAT-AP-NO portals can harvest it.

A dataset that fails the gate is left out of the feed rather than published invalid.
Free of rdflib, so ``GET /datasets/{id}/publishability`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalogue.dcat import vocabularies as vocab
from catalogue.domain import addresses

Problem = dict[str, str]


def missing_for_publication(
    dataset: Mapping[str, Any], distributions: Sequence[Mapping[str, Any]] = ()
) -> list[Problem]:
    """List ``{field, reason}`` for each DCAT-AP-NO rule the dataset breaks; empty if none.

    Mandatory in DCAT-AP-NO (dcat:Dataset): title, description, publisher, contactPoint
    (a name and an e-mail) and at least one EU data theme; our feed also requires a licence
    from the EU Licence vocabulary (DCAT-AP-NO's range shapes admit no other), since open
    data without one cannot be reused. Optional fields are checked only when given, so that
    a value is never silently dropped from the feed.
    """
    problems: list[Problem] = []

    def problem(field: str, reason: str) -> None:
        problems.append({"field": field, "reason": reason})

    if dataset.get("accessRights") != "public":
        problem("accessRights", "only public datasets are published as open data")
    for field in ("title", "description"):
        if not _has_text(dataset.get(field)):
            problem(field, f"a {field} is mandatory in DCAT-AP-NO")
    if not _has_text(dataset.get("publisher")):
        problem("publisher", "a publisher is mandatory in DCAT-AP-NO")
    problems.extend(_contact_point_problems(dataset.get("contactPoint")))
    themes = dataset.get("themes") or []
    if not themes:
        problem("themes", "at least one EU data theme (e.g. ENVI, TRAN) is mandatory")
    for theme in themes:
        if not isinstance(theme, str) or vocab.theme_iri(theme) is None:
            problem("themes", f"{theme!r} is not an EU data theme code")
    license_iri = dataset.get("license")
    # Examples of the form the API takes (a URL), not bare EU codes it would refuse.
    examples = f"e.g. {', '.join(vocab.LICENCE_EXAMPLES)}"
    if not license_iri:
        problem("license", f"a licence is required to publish open data ({examples})")
    elif vocab.licence_iri(license_iri) is None:
        problem(
            "license",
            f"{license_iri!r} is not in the EU Licence vocabulary nor a URL of one ({examples})",
        )
    _check_optional(dataset, problem)
    for index, distribution in enumerate(distributions):
        for field, reason in _distribution_problems(distribution):
            problem(f"distributions[{index}].{field}", reason)
    return problems


def is_publishable(
    dataset: Mapping[str, Any], distributions: Sequence[Mapping[str, Any]] = ()
) -> bool:
    """True if the dataset passes the publish gate."""
    return not missing_for_publication(dataset, distributions)


def _has_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _contact_point_problems(contact: Any) -> list[Problem]:
    field = "contactPoint"
    if not isinstance(contact, Mapping) or not contact:
        return [{"field": field, "reason": "a contact point is mandatory in DCAT-AP-NO"}]
    problems = []
    if not _has_text(contact.get("name")):
        problems.append({"field": f"{field}.name", "reason": "the contact point needs a name"})
    email = contact.get("email")
    if not email:
        problems.append(
            {"field": f"{field}.email", "reason": "the contact point needs an e-mail address"}
        )
    elif not addresses.is_email(email):
        problems.append({"field": f"{field}.email", "reason": f"{email!r} is not an e-mail"})
    return problems


def _check_optional(dataset: Mapping[str, Any], problem: Any) -> None:
    """Report optional fields whose value the feed could not express."""
    frequency = dataset.get("accrualPeriodicity")
    if frequency and vocab.frequency_iri(frequency) is None:
        problem("accrualPeriodicity", f"{frequency!r} is not an EU frequency (e.g. daily)")
    language = dataset.get("language")
    if language and vocab.language_iri(language) is None:
        problem("language", f"{language!r} is not a known language code (e.g. nb, en)")
    spatial = dataset.get("spatial")
    if spatial and not vocab.is_place_iri(spatial):
        problem(
            "spatial",
            "must be a place IRI from the EU country, continent or place vocabularies, "
            "GeoNames or Geonorge's administrative units",
        )
    for standard in dataset.get("conformsTo") or ():
        if not addresses.is_iri(standard):
            problem("conformsTo", f"{standard!r} is not an IRI")
    temporal = dataset.get("temporal") or {}
    start, end = temporal.get("start"), temporal.get("end")
    if start and end and str(start) > str(end):
        problem("temporal", "start is after end")


def _distribution_problems(distribution: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for field in ("accessURL", "downloadURL"):
        value = distribution.get(field)
        if value and not addresses.is_iri(value):
            problems.append((field, "must be an http(s) URL"))
    media_type = distribution.get("mediaType")
    if media_type and vocab.media_type_iri(media_type) is None:
        problems.append(("mediaType", f"{media_type!r} is not a media type"))
    checksum = distribution.get("checksum")
    if checksum and not _is_sha256(checksum):
        problems.append(("checksum", "must be a sha256 digest in hex (64 characters)"))
    size = distribution.get("byteSize")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        problems.append(("byteSize", "must be a non-negative integer"))
    return problems


def _is_sha256(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 64:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True
