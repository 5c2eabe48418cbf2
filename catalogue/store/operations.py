"""Rules both backends share: checking operations, evaluating conditions, index entries.

Both stores evaluate a transaction the same way: validate the operations (ValueError), look
at the current state of every key, raise the error of the first operation whose condition
fails, and only then write. Cursors and paging are ``catalogue.store.paging``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from catalogue.domain import numbers
from catalogue.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidValue,
    NotFound,
    PreconditionFailed,
)
from catalogue.domain.numbers import first_unstored_number, stored_number, whole_float_marks
from catalogue.store.base import (
    FIELD_SEPARATOR,
    FLOAT_MARKS,
    MAX_ITEM_BYTES,
    MAX_PK_BYTES,
    MAX_SEARCH_TERMS,
    MAX_SK_BYTES,
    MAX_TERM_BYTES,
    MAX_TRANSACTION_OPS,
    SEARCH_FIELDS,
    Check,
    Create,
    Delete,
    Item,
    Op,
    Put,
    PutNewer,
    Replace,
    facet_shard,
    search_terms,
)

Key = tuple[str, str]
_PACKING = re.compile("[\x1e\x1f]")
# (search_scope, term): one entry of the search index.
Entry = tuple[str, str]
# (facet_scope, facet name, value): one value an item is counted under.
Facet = tuple[str, str, str]

# Attributes the store owns: taken from the caller's item on write and set by the store.
STORE_OWNED = ("rev", "_terms", FLOAT_MARKS)
_KEY_ATTRIBUTES = ("pk", "sk")
# Kinds as tuples for isinstance: ``A | B`` makes a new union object each time it runs,
# and these checks run several times per operation of every write.
ITEM_OPS = (Create, Replace, Put, PutNewer)
REVISED_OPS = (Replace, Delete, Check)
_SCALARS = (str, int, float)
_INDEX_ATTRIBUTES = ("gsi1pk", "gsi1sk")


def op_key(op: Op) -> Key:
    """The (pk, sk) an operation is about."""
    if isinstance(op, ITEM_OPS):
        return (op.item.get("pk"), op.item.get("sk"))  # type: ignore[return-value]
    return (op.pk, op.sk)


def check_key(pk: object, sk: object) -> None:
    """Raise ValueError unless pk and sk are non-empty strings DynamoDB holds as keys."""
    if not (isinstance(pk, str) and pk and isinstance(sk, str) and sk):
        raise ValueError(f"pk and sk must be non-empty strings, not {pk!r}, {sk!r}")
    # Counted in characters first: no key of the catalogue comes near the limits.
    if 4 * len(pk) > MAX_PK_BYTES and len(pk.encode("utf-8", "surrogatepass")) > MAX_PK_BYTES:
        raise ValueError(f"a pk holds at most {MAX_PK_BYTES} bytes of UTF-8: {pk[:40]!r}...")
    if 4 * len(sk) > MAX_SK_BYTES and len(sk.encode("utf-8", "surrogatepass")) > MAX_SK_BYTES:
        raise ValueError(f"an sk holds at most {MAX_SK_BYTES} bytes of UTF-8: {sk[:40]!r}...")


def check_item(item: Item) -> None:
    """Raise ValueError for an item neither backend can store as given."""
    if not isinstance(item, dict):
        raise ValueError(f"an item is a dict, not {type(item).__name__}")
    check_key(item.get("pk"), item.get("sk"))
    for name in _INDEX_ATTRIBUTES:
        value = item.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    for name in ("search_scope", "search_text", "facet_scope"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {value!r}")
    check_facet_values(item.get("facet_values"))
    text = item.get("search_text")
    if isinstance(text, str) and text.count(FIELD_SEPARATOR) >= SEARCH_FIELDS:
        raise ValueError(f"a search_text holds at most {SEARCH_FIELDS} fields")


def check_facet_values(values: object) -> None:
    """Raise ValueError unless ``values`` maps names to lists of distinct non-empty strings."""
    if values is None:
        return
    if not isinstance(values, Mapping):
        raise ValueError(f"facet_values maps facet names to lists of values, not {values!r}")
    for name, listed in values.items():
        if not (isinstance(name, str) and name and isinstance(listed, list)):
            raise ValueError(f"facet_values maps facet names to lists of values, not {values!r}")
        if not all(isinstance(value, str) and value for value in listed):
            raise ValueError(f"the values of facet {name!r} must be non-empty strings")
        if any(_PACKING.search(text) for text in (name, *listed)):
            # The SQLite store packs an item's values with these two as separators.
            raise ValueError(f"facet {name!r}: names and values hold no U+001E or U+001F")
        if len(set(listed)) != len(listed):
            raise ValueError(f"the values of facet {name!r} must be distinct")


def check_ops(ops: Sequence[Op]) -> None:
    """Raise ValueError for a transaction that may not be attempted at all.

    Raises InvalidValue, naming the item's largest attribute, for an item larger than
    MAX_ITEM_BYTES: DynamoDB refuses it, so no backend stores it.
    """
    if not ops:
        raise ValueError("a transaction needs at least one operation")
    if len(ops) > MAX_TRANSACTION_OPS:
        raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_OPS} operations")
    seen: set[Key] = set()
    for op in ops:
        if isinstance(op, ITEM_OPS):
            check_item(op.item)
            if isinstance(op, PutNewer):
                check_newer(op)
            text = repr(op.item)  # once: the checks start from it
            check_item_size(op.item, text)
            check_numbers(op.item, text)
            check_names(op.item, text)
        elif isinstance(op, (Delete, Check)):
            check_key(op.pk, op.sk)
        else:
            raise ValueError(f"not a store operation: {op!r}")
        if isinstance(op, REVISED_OPS):
            if not _is_rev(op.rev):
                raise ValueError(f"rev must be an integer, not {op.rev!r}")
            check_expect(op.expect)
        key = op_key(op)
        if key in seen:
            raise ValueError(f"two operations on the same item {key}")
        seen.add(key)


# A revision is counted at its widest, as the store sets it after the check.
_REV_BYTES = len("rev") + 21
# What DynamoDB adds for a list or a map, and for each of their elements.
_CONTAINER_BYTES = 3
_ELEMENT_BYTES = 1
_NUMBERS = (int, float)
_SEQUENCES = (list, tuple)
# The most ``_terms`` can take: below this much, an item fits without its terms counted.
_TERMS_BOUND = (
    len("_terms") + _CONTAINER_BYTES + MAX_SEARCH_TERMS * (_ELEMENT_BYTES + MAX_TERM_BYTES)
)


def check_item_size(item: Item, text: str) -> None:
    """Raise InvalidValue, naming the largest attribute, when ``item`` passes MAX_ITEM_BYTES.

    ``text`` is ``repr(item)``.
    """
    # A bound measured in C first, as every write is checked: DynamoDB counts at most four
    # bytes per character of an item's repr (UTF-8, and a byte per element of a container),
    # and the marks of its whole floats take at most as much again.
    has_whole_floats = _WHOLE_FLOAT.search(text) is not None
    if 4 * len(text) * (1 + has_whole_floats) + _REV_BYTES + _TERMS_BOUND <= MAX_ITEM_BYTES:
        return
    data = {name: value for name, value in item.items() if name not in STORE_OWNED}
    sizes = {name: len(name.encode()) + value_bytes(value) for name, value in data.items()}
    total = _REV_BYTES + sum(sizes.values())
    marks = whole_float_marks(data) if has_whole_floats else None
    if marks:
        # DynamoDB keeps where the item holds whole floats in the item itself.
        total += len(FLOAT_MARKS) + value_bytes(marks)
    if total + _TERMS_BOUND <= MAX_ITEM_BYTES:
        return
    terms = [term for _, term in index_entries(item)]
    if terms:
        # DynamoDB keeps the indexed terms in the item itself (``_terms``).
        total += len("_terms") + value_bytes(terms)
    if total > MAX_ITEM_BYTES:
        largest = max(sizes, key=sizes.__getitem__)
        raise InvalidValue(
            largest,
            f"too large to store: the resource would take {total} bytes, over the "
            f"{MAX_ITEM_BYTES} one may take, and this field takes {sizes[largest]}",
        )


# How repr writes a whole float below 2**53 (2.0, -0.0): text that looks like one only
# costs a walk over the item.
_WHOLE_FLOAT = re.compile(r"\d\.0(?!\d)")
# In an item's repr, the only marks of a number DynamoDB cannot hold: a long run of digits
# (an integer) or a three-digit exponent (a float). Without them, no walk is needed.
_UNUSUAL_NUMBER = re.compile(r"\d{39}|e[+-]\d{3}")


def check_numbers(item: Item, text: str) -> None:
    """Raise InvalidValue, naming the attribute, for a number DynamoDB cannot hold.

    ``text`` is ``repr(item)``.
    """
    if not _UNUSUAL_NUMBER.search(text):
        return
    for name, value in item.items():
        number = first_unstored_number(value)
        if number is not None:
            raise InvalidValue(name, f"the number {number!r} cannot be stored: {numbers.LIMITS}")


def check_names(item: Item, text: str) -> None:
    """Raise InvalidValue, naming the attribute, for an empty name of an attribute or a key
    of an object within one: DynamoDB takes no empty attribute name, in a map either.

    ``text`` is ``repr(item)``.
    """
    if "'': " not in text:  # how repr writes an empty key; a string holding it costs a walk
        return
    for name, value in item.items():
        if name == "" or holds_empty_key(value):
            raise InvalidValue(name, "an object's keys cannot be empty: no store keeps them")


def holds_empty_key(value: object) -> bool:
    """Whether a JSON value holds an object with an empty key, at any depth."""
    if isinstance(value, Mapping):
        return any(key == "" or holds_empty_key(element) for key, element in value.items())
    if isinstance(value, _SEQUENCES):
        return any(holds_empty_key(element) for element in value)
    return False


def value_bytes(value: object) -> int:
    """The bytes DynamoDB counts for a value (strings as UTF-8; numbers approximately)."""
    if isinstance(value, str):
        return len(value.encode())
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, _NUMBERS):
        # One byte per two significant digits, and one more: counted from the shortest
        # text, which holds at least the significant digits.
        return (len(repr(value)) + 1) // 2 + 1
    if isinstance(value, Mapping):
        return _CONTAINER_BYTES + sum(
            _ELEMENT_BYTES + len(str(name).encode()) + value_bytes(element)
            for name, element in value.items()
        )
    if isinstance(value, _SEQUENCES):
        return _CONTAINER_BYTES + sum(_ELEMENT_BYTES + value_bytes(element) for element in value)
    return len(str(value).encode())


def check_expect(expect: object) -> None:
    """Raise ValueError for an ``expect`` neither backend can evaluate."""
    if expect is None:
        return
    if not isinstance(expect, Mapping):
        raise ValueError(f"expect is a mapping of attribute names to values, not {expect!r}")
    for name, value in expect.items():
        if not isinstance(name, str) or not name or name in (*_KEY_ATTRIBUTES, *STORE_OWNED):
            raise ValueError(f"cannot expect a value of the attribute {name!r}")
        if value is None or isinstance(value, str | bool):
            continue
        if not (isinstance(value, _NUMBERS) and numbers.is_stored_number(value)):
            raise ValueError(
                f"an expected value is a string, a number every store keeps or a boolean, "
                f"not {value!r}"
            )


def check_newer(op: PutNewer) -> None:
    """Raise ValueError for a PutNewer whose attribute neither backend can compare."""
    name = op.attribute
    if not isinstance(name, str) or not name or name in (*_KEY_ATTRIBUTES, *STORE_OWNED):
        raise ValueError(f"cannot compare the attribute {name!r}")
    if not _is_comparable(op.item.get(name)):
        raise ValueError(f"{name} must be a string or a number, not {op.item.get(name)!r}")


def _is_comparable(value: object) -> bool:
    return isinstance(value, _SCALARS) and not isinstance(value, bool)


def is_newer(op: PutNewer, current: Item | None) -> bool:
    """Whether ``op``'s item is after ``current`` on its attribute (absent counts as before)."""
    if current is None:
        return True
    stored_value, value = current.get(op.attribute), op.item[op.attribute]
    if not _is_comparable(stored_value):
        return True
    if isinstance(value, str) != isinstance(stored_value, str):
        # A string and a number do not compare: the stored value was written under another
        # ordering (an event source whose time field changed type), so it counts as before,
        # as an absent one does; refusing would keep it forever.
        return True
    if isinstance(value, str):
        return value.encode() > stored_value.encode()  # type: ignore[union-attr]
    # Compared as the number the item will hold, as the stored one is.
    return _kept(value) > stored_value  # type: ignore[operator]


def _is_equal(stored: object, expected: object) -> bool:
    """Whether a stored value equals an expected one as DynamoDB compares them."""
    # A boolean is never a number there (Python's True == 1).
    if isinstance(stored, bool) != isinstance(expected, bool):
        return False
    return stored == _kept(expected)


def _kept(value: object) -> object:
    """``value`` as the store keeps it: a float as its ``stored_number``."""
    return stored_number(value) if isinstance(value, float) else value


def _is_rev(rev: object) -> bool:
    return rev is None or (isinstance(rev, int) and not isinstance(rev, bool))


def failure(op: Op, current: Item | None) -> DomainError | None:
    """The error ``op`` raises against the ``current`` item, or None when its condition holds."""
    key = op_key(op)
    if isinstance(op, Create):
        if current is not None:
            return AlreadyExists(f"item {key} already exists", key=key)
        return None
    if isinstance(op, Put):
        return None
    if isinstance(op, PutNewer):
        if is_newer(op, current):
            return None
        return PreconditionFailed(
            f"item {key} has {op.attribute}={current.get(op.attribute)!r}"  # type: ignore[union-attr]
            f", not before {op.item[op.attribute]!r}",
            key=key,
        )
    if current is None:
        return NotFound(f"item {key} does not exist", key=key)
    if op.rev is not None and current.get("rev") != op.rev:
        return PreconditionFailed(
            f"item {key} is at revision {current.get('rev')}, not {op.rev}", key=key
        )
    for name, value in (op.expect or {}).items():
        if not _is_equal(current.get(name), value) or (value is None and name in current):
            return PreconditionFailed(f"item {key} has {name}={current.get(name)!r}", key=key)
    return None


def first_failure(ops: Sequence[Op], state: Mapping[Key, Item | None]) -> DomainError | None:
    """The error of the first operation, in order, whose condition fails against ``state``."""
    for op in ops:
        error = failure(op, state.get(op_key(op)))
        if error is not None:
            return error
    return None


def stored(item: Item, rev: int) -> Item:
    """The item as the store keeps it: the caller's attributes with the store's ``rev``."""
    result = {name: value for name, value in item.items() if name not in STORE_OWNED}
    result["rev"] = rev
    return result


def new_rev(op: Op, current: Item | None) -> int:
    """The revision an item written by ``op`` over ``current`` gets."""
    if isinstance(op, Replace):
        return op.rev + 1
    if isinstance(op, (Put, PutNewer)) and current is not None:
        return int(current["rev"]) + 1
    return 1


def index_entries(item: Item | None) -> frozenset[Entry]:
    """The search-index entries of an item: its scope with each of its first terms."""
    if item is None:
        return frozenset()
    scope, text = item.get("search_scope"), item.get("search_text")
    if not (isinstance(scope, str) and isinstance(text, str)):
        return frozenset()
    return frozenset((scope, term) for term in indexed_terms(text))


def facet_entries(item: Item | None) -> frozenset[Facet]:
    """The facet values an item is counted under (none without a scope and values)."""
    if item is None:
        return frozenset()
    scope, values = item.get("facet_scope"), item.get("facet_values")
    if not (isinstance(scope, str) and isinstance(values, Mapping)):
        return frozenset()
    return frozenset((scope, name, value) for name, listed in values.items() for value in listed)


def facet_deltas(ops: Sequence[Op], state: Mapping[Key, Item | None]) -> dict[Facet, int]:
    """How each facet count changes when ``ops`` apply over ``state`` (the items before)."""
    deltas: dict[Facet, int] = {}
    for op in ops:
        if isinstance(op, Check):
            continue
        before = facet_entries(state.get(op_key(op)))
        after = facet_entries(op.item) if isinstance(op, (Create, Replace, Put)) else frozenset()
        for entry in after - before:
            deltas[entry] = deltas.get(entry, 0) + 1
        for entry in before - after:
            deltas[entry] = deltas.get(entry, 0) - 1
    return {entry: delta for entry, delta in deltas.items() if delta}


def counter_keys(deltas: Mapping[Facet, int]) -> set[tuple[str, str, int]]:
    """The counter items the changes touch: one per scope, facet name and value shard."""
    return {(scope, name, facet_shard(value)) for scope, name, value in deltas}


def check_counted_size(ops: Sequence[Op], deltas: Mapping[Facet, int]) -> None:
    """Raise ValueError when ``ops`` and their counter changes exceed one transaction."""
    counters = len(counter_keys(deltas))
    if len(ops) + counters > MAX_TRANSACTION_OPS:
        raise ValueError(
            f"a transaction holds at most {MAX_TRANSACTION_OPS} operations, facet counters "
            f"included ({len(ops)} operations change {counters} counters)"
        )


def indexed_terms(text: str) -> list[str]:
    """The terms of a search_text that go into the index, in order (see MAX_TERM_BYTES)."""
    terms = [term for term in search_terms(text) if len(term.encode()) <= MAX_TERM_BYTES]
    return terms[:MAX_SEARCH_TERMS]


def entries_after(op: Op, entries_before: frozenset[Entry]) -> frozenset[Entry]:
    """The index entries of the item once ``op`` is applied."""
    if isinstance(op, ITEM_OPS):
        return index_entries(op.item)
    if isinstance(op, Delete):
        return frozenset()
    return entries_before
