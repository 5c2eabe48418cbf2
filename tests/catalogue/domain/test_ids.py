"""Identifiers: slugs, their candidates, and the id checks of datasets, versions, editions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.domain import ids
from catalogue.domain.errors import InvalidValue

# Any text a title can hold, lone surrogates included (JSON can carry them).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()))


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Air quality", "air-quality"),
        ("  Luftkvalitet i Oslo  ", "luftkvalitet-i-oslo"),
        ("Bærekraft, grønn økonomi", "baerekraft-gronn-okonomi"),
        ("Åpne data på Ås", "apne-data-pa-as"),
        ("Straße", "strasse"),
        ("Café déjà vu", "cafe-deja-vu"),
        ("CO2 / NOx (2024)", "co2-nox-2024"),
        ("---", "dataset"),
        ("", "dataset"),
        ("数据", "dataset"),
        ("a" * 63 + " b", "a" * 63),
        ("x" * 80, "x" * 64),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert ids.slugify(title) == slug


@given(ANY_TEXT)
def test_a_slug_is_a_valid_dataset_id(title: str) -> None:
    slug = ids.slugify(title)
    assert slug
    assert ids.check_dataset_id(slug) == slug


@given(ANY_TEXT)
def test_slugify_is_stable(title: str) -> None:
    slug = ids.slugify(title)
    assert ids.slugify(title) == slug
    assert ids.slugify(slug) == slug


@given(st.from_regex(ids.DATASET_ID, fullmatch=True), st.lists(st.binary(min_size=4, max_size=8)))
def test_slug_candidates_are_valid_ids(slug: str, entropies: list[bytes]) -> None:
    suffixes = [ids.random_suffix(entropy) for entropy in entropies]
    candidates = list(ids.slug_candidates(slug, suffixes))
    assert candidates[0] == slug
    for candidate, suffix in zip(candidates[1:], suffixes, strict=True):
        assert ids.check_dataset_id(candidate) == candidate
        assert candidate.endswith(f"-{suffix}")


def test_random_suffix_is_six_characters_of_the_id_alphabet() -> None:
    assert ids.random_suffix(b"\x00\x00\x00\x00") == "aaaaaa"
    assert len({ids.random_suffix(bytes([n, 1, 2, 3])) for n in range(256)}) == 256


@pytest.mark.parametrize("value", ["a", "air", "air-quality-2", "0", "a" * 64])
def test_valid_dataset_ids(value: str) -> None:
    assert ids.check_dataset_id(value) == value


@pytest.mark.parametrize("value", ["", "-a", "a-", "Air", "a_b", "a.b", "æ", "a" * 65])
def test_invalid_dataset_ids(value: str) -> None:
    with pytest.raises(InvalidValue) as error:
        ids.check_dataset_id(value)
    assert error.value.field == "id"


@pytest.mark.parametrize(
    ("value", "valid"),
    [("1", True), ("2.1", True), ("v1_beta-2", True), ("", False), (".1", False), ("a/b", False)],
)
def test_version_ids(value: str, valid: bool) -> None:
    if valid:
        assert ids.check_version_id(value) == value
    else:
        with pytest.raises(InvalidValue, match="version"):
            ids.check_version_id(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20260102T030405", None),
        ("20260102T030405-000001", None),
        ("latest", "alias"),
        ("2026-01-02T03:04:05", "UTC timestamp"),
        ("20260102T030405-1", "UTC timestamp"),
        ("20260230T030405", "real date"),
        ("20260102T250405", "real date"),
    ],
)
def test_edition_ids(value: str, reason: str | None) -> None:
    if reason is None:
        assert ids.check_edition_id(value) == value
    else:
        with pytest.raises(InvalidValue, match=reason):
            ids.check_edition_id(value)


def test_edition_id_is_the_utc_second() -> None:
    oslo = timezone(timedelta(hours=1))
    assert ids.edition_id(datetime(2026, 1, 2, 4, 4, 5, 999, tzinfo=oslo)) == "20260102T030405"


# Editions are made now: four-digit years (strftime writes year 1 as "1").
MOMENTS = st.datetimes(datetime(2000, 1, 1), datetime(9998, 12, 31), timezones=st.just(UTC))


@given(MOMENTS, st.integers(0, 3), st.integers(0, 5))
def test_further_editions_of_a_second_sort_in_the_order_they_were_made(
    moment: datetime, made: int, skip: int
) -> None:
    second = ids.edition_id(moment)
    latest = second
    for _ in range(made):
        latest = ids.next_edition_id(second, latest)
    following = ids.next_edition_id(second, latest, skip)
    assert latest < following < ids.edition_id(moment + timedelta(seconds=1))
    assert ids.check_edition_id(following) == following


@pytest.mark.parametrize(
    ("existing", "following"), [([], "1"), (["1"], "2"), (["1", "3", "beta", "2.0"], "4")]
)
def test_next_version_id(existing: list[str], following: str) -> None:
    assert ids.next_version_id(existing) == following


def test_incarnation_ids_sort_by_time_and_differ_within_a_second() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = ids.incarnation_id(moment, b"\x00\x01\x02\x03\xff")
    assert first == "20260102T030405-00010203"
    assert ids.incarnation_id(moment, b"\x00\x01\x02\x04") != first
    assert ids.incarnation_id(moment + timedelta(seconds=1), b"\x00" * 4) > first
