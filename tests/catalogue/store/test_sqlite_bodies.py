"""The SQLite store's body decoding reads every body as json does, value and type."""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

import pytest

from catalogue.store.sqlite_bodies import decode_body

# What the store writes (sqlite_rows._body): compact, non-ASCII as it is, no NaN.
encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def same(left: Any, right: Any) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return left == right


def random_number(rng: random.Random) -> int | float:
    kind = rng.randrange(4)
    if kind == 0:  # any finite double, as repr writes it
        while True:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
            if math.isfinite(value):
                return value
    if kind == 1:  # integers near and past 64 bits, both signs
        return rng.choice([1, -1]) * (2 ** rng.randrange(55, 130) + rng.randrange(-3, 4))
    if kind == 2:
        return rng.randrange(-(10 ** rng.randrange(1, 40)), 10 ** rng.randrange(1, 40))
    return rng.choice([0, -0.0, 0.1, 1e16, 1e-7, 2**63 - 1, -(2**63), 2**64 - 1, 2**64])


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return random_number(rng)
    if kind == 1:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(30)))
        return rng.choice(["", 'Ærø 東京 🚲 \u2028 \u007f \u0000 "\\ ', "x"]) + digits
    if kind == 2:
        return rng.choice([None, True, False])
    if kind == 3:
        return [random_number(rng) for _ in range(rng.randrange(3))]
    if kind in (4, 5):
        return {f"k{index}": random_value(rng, depth + 1) for index in range(rng.randrange(5))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_random_bodies_decode_as_json_decodes_them() -> None:
    rng = random.Random(19)
    for _ in range(3000):
        body = encode({"pk": "p", "value": random_value(rng)})
        assert same(decode_body(body), json.loads(body)), body


@pytest.mark.parametrize(
    "body",
    [
        '{"n":18446744073709551616}',
        '{"n":-9223372036854775809}',
        '{"n":[123456789012345678901234567890]}',
        '{"n":1e400}',
        '{"n":NaN}',
        '{"s":"\\ud800"}',
        '{"n":1}  trailing',
    ],
    ids=["u64+1", "i64-1", "30-digits", "1e400", "nan", "lone-surrogate", "trailing"],
)
def test_what_only_json_reads_as_json_does_is_left_to_it(body: str) -> None:
    assert same(decode_body(body), json.JSONDecoder().raw_decode(body)[0])
