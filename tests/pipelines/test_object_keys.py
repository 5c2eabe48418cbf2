"""The object key layout: building, parsing and checking keys, and uploaded file names.

The parts a key is built from are those the catalogue's API accepts (``catalogue.domain.ids``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from catalogue.domain import ids
from pipelines.errors import InvalidValue
from pipelines.object_keys import (
    STAGES,
    ZONES,
    ObjectKey,
    check_edition_keys,
    clean_filename,
    object_key,
    parse_object_key,
)

EDITION = "20260102T030405"
KEY = f"raw/green/air/version=1/edition={EDITION}/data.csv"

# What the API accepts for each part of a key.
DATASET_IDS = st.from_regex(ids.DATASET_ID, fullmatch=True)
VERSIONS = st.from_regex(ids.VERSION_ID, fullmatch=True)
EDITIONS = st.builds(
    lambda moment, number: ids.edition_id(moment) + (f"-{number:06d}" if number else ""),
    st.datetimes(datetime(2000, 1, 1), datetime(9998, 12, 31), timezones=st.just(UTC)),
    st.integers(0, 999_999),
)
STEPS = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,79}", fullmatch=True)
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)


def accepted_filename(name: str) -> str:
    """The file name the upload API stores for ``name``; skips names it refuses."""
    try:
        return clean_filename(name)
    except InvalidValue:
        assume(False)
        raise


@given(
    st.sampled_from(STAGES),
    st.sampled_from(sorted(ZONES)),
    DATASET_IDS,
    VERSIONS,
    EDITIONS,
    ANY_TEXT,
    STEPS,
)
def test_a_key_built_from_parts_parses_back_to_them(
    stage: str, access: str, dataset: str, version: str, edition: str, name: str, step: str
) -> None:
    filename = accepted_filename(name)
    step_or_none = step if stage == "intermediate" else None
    key = object_key(stage, access, dataset, version, edition, filename, step_or_none)
    parsed = parse_object_key(str(key))
    assert parsed == key
    assert (parsed.stage, parsed.access_rights, parsed.dataset) == (stage, access, dataset)
    assert (parsed.version, parsed.edition, parsed.filename) == (version, edition, filename)
    assert parsed.step == step_or_none
    assert check_edition_keys([str(key)], access, dataset, version, edition) == [str(key)]


@given(DATASET_IDS, VERSIONS, EDITIONS, ANY_TEXT, STEPS)
def test_step_and_published_keys_parse_back(
    dataset: str, version: str, edition: str, name: str, step: str
) -> None:
    raw = object_key("raw", "public", dataset, version, edition, accepted_filename(name))
    assert parse_object_key(str(raw.for_step(step, "out.parquet"))) == raw.for_step(
        step, "out.parquet"
    )
    assert parse_object_key(str(raw.published())) == raw.published()
    assert str(raw).startswith(raw.prefix) and raw.prefix.endswith("/")


@given(ANY_TEXT)
def test_clean_filename_accepts_or_refuses_with_invalid_value(name: str) -> None:
    try:
        cleaned = clean_filename(name)
    except InvalidValue as error:
        assert error.field == "filename"
    else:
        assert cleaned == clean_filename(cleaned)
        assert "/" not in cleaned and len(cleaned.encode()) <= 255


def test_a_key_string() -> None:
    key = object_key("intermediate", "restricted", "air", "1", EDITION, "data.csv", "Validate")
    assert str(key) == f"intermediate/yellow/air/version=1/edition={EDITION}/Validate/data.csv"
    assert key.prefix == f"intermediate/yellow/air/version=1/edition={EDITION}/Validate/"
    assert str(key.published()) == f"processed/yellow/air/version=1/edition={EDITION}/data.csv"


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("data.csv", "data.csv"),
        ("målinger 2024.xlsx", "målinger 2024.xlsx"),
        ("ma\u030alinger.csv", "målinger.csv"),  # NFD from macOS becomes NFC
        ("a" * 251 + ".csv", "a" * 251 + ".csv"),
    ],
)
def test_clean_filename_keeps_good_names(name: str, cleaned: str) -> None:
    assert clean_filename(name) == cleaned


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a/b.csv", "/"),
        ("a\\b.csv", "/"),
        ("..", ".."),
        ("a..b", ".."),
        ("a\nb", "control"),
        ("a\u200bb", "control"),
        (".hidden", "dot"),
        (" a.csv", "space"),
        ("a.csv ", "space"),
        ("ø" * 128, "255 bytes"),
        ("a\ud800b.csv", "UTF-8"),
    ],
)
def test_clean_filename_refuses_bad_names(name: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason) as error:
        clean_filename(name)
    assert error.value.field == "filename"


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        (("final", "public", "air", "1", EDITION, "a.csv"), "stage"),
        (("raw", "open", "air", "1", EDITION, "a.csv"), "accessRights"),
        (("raw", "public", "Air", "1", EDITION, "a.csv"), "dataset"),
        (("raw", "public", "air", "1/2", EDITION, "a.csv"), "version"),
        (("raw", "public", "air", "1", "../x", "a.csv"), "edition"),
        (("raw", "public", "air", "1", EDITION, "../a.csv"), "filename"),
    ],
)
def test_object_key_names_the_bad_part(parts: tuple[str, ...], field: str) -> None:
    with pytest.raises(InvalidValue) as error:
        object_key(*parts)
    assert error.value.field == field


@pytest.mark.parametrize(
    "key",
    [
        "raw/green/air/version=1/data.csv",
        "raw/blue/air/version=1/edition=1/data.csv",
        "raw/green/air/version=1/edition=1/step/data.csv",  # only intermediate keys have steps
        "intermediate/green/air/version=1/edition=1/a/b/data.csv",
        "other/green/air/version=1/edition=1/data.csv",
    ],
)
def test_parse_refuses_keys_outside_the_layout(key: str) -> None:
    with pytest.raises(InvalidValue) as error:
        parse_object_key(key)
    assert error.value.field == "key"


def test_parse_object_key() -> None:
    assert parse_object_key(KEY) == ObjectKey("raw", "public", "air", "1", EDITION, "data.csv")


@pytest.mark.parametrize(
    "key",
    [
        f"raw/yellow/air/version=1/edition={EDITION}/data.csv",
        f"raw/green/water/version=1/edition={EDITION}/data.csv",
        f"raw/green/air/version=2/edition={EDITION}/data.csv",
        "raw/green/air/version=1/edition=20260102T030406/data.csv",
        "not a key",
    ],
)
def test_check_edition_keys_refuses_other_objects_without_naming_them(key: str) -> None:
    with pytest.raises(InvalidValue) as error:
        check_edition_keys([KEY, key], "public", "air", "1", EDITION)
    assert error.value.field == "input.keys"
    assert "keys[1]" in error.value.reason and key not in error.value.reason
