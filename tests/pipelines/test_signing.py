"""Signed tokens of local upload and download URLs: pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import signing

KEY = b"k" * 32
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
OBJECT = "raw/green/air/version=1/edition=20260102T030405/r.csv"
POLICY = signing.UploadPolicy(OBJECT, 100, NOW + timedelta(seconds=60), "text/csv")


def test_upload_token_round_trips_its_policy() -> None:
    token = signing.upload_token(POLICY, KEY)
    assert signing.read_upload_token(token, KEY, NOW) == POLICY


def test_download_token_round_trips_its_grant() -> None:
    grant = signing.DownloadGrant(OBJECT, "r.csv", NOW + timedelta(seconds=60))
    assert signing.read_download_token(signing.download_token(grant, KEY), KEY, NOW) == grant


@pytest.mark.parametrize(
    ("now", "error"),
    [
        (NOW + timedelta(seconds=59), None),
        (NOW + timedelta(seconds=60), signing.TokenExpired),
        (NOW + timedelta(days=1), signing.TokenExpired),
    ],
)
def test_token_expires_at_its_expiry(now: datetime, error: type[Exception] | None) -> None:
    token = signing.upload_token(POLICY, KEY)
    if error is None:
        signing.read_upload_token(token, KEY, now)
    else:
        with pytest.raises(error):
            signing.read_upload_token(token, KEY, now)


@pytest.mark.parametrize(
    "token",
    ["", "nodot", ".sig", "payload.", "!!!.???", "e30.x", "bm90IGpzb24.x", "ø.x", "e30.sïg"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(signing.SignatureError):
        signing.verify(token, KEY, NOW)


def test_token_of_another_key_is_a_mismatch() -> None:
    token = signing.upload_token(POLICY, b"other key")
    with pytest.raises(signing.SignatureMismatch):
        signing.read_upload_token(token, KEY, NOW)


def test_download_token_is_no_upload_token_and_back() -> None:
    grant = signing.DownloadGrant(OBJECT, "r.csv", NOW + timedelta(seconds=60))
    with pytest.raises(signing.SignatureError):
        signing.read_upload_token(signing.download_token(grant, KEY), KEY, NOW)
    with pytest.raises(signing.SignatureError):
        signing.read_download_token(signing.upload_token(POLICY, KEY), KEY, NOW)


@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw_-0z"))
def test_changing_any_character_of_a_token_is_refused(position: int, replacement: str) -> None:
    token = signing.upload_token(POLICY, KEY)
    index = position % len(token)
    if token[index] == replacement:
        return
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(signing.SignatureError):
        signing.read_upload_token(tampered, KEY, NOW)


def test_form_must_carry_the_signed_fields() -> None:
    token = signing.upload_token(POLICY, KEY)
    fields = signing.upload_form_fields(token, POLICY)
    assert signing.check_upload_form(token, fields, KEY, NOW) == POLICY
    for name, value in [
        ("key", OBJECT.replace("r.csv", "s.csv")),
        ("Content-Type", "text/plain"),
        ("policy", fields["policy"] + "x"),
        ("x-amz-signature", fields["x-amz-signature"][::-1]),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
    ]:
        with pytest.raises(signing.SignatureError):
            signing.check_upload_form(token, {**fields, name: value}, KEY, NOW)
