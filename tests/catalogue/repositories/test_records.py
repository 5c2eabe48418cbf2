"""``projection`` gives what ``resource`` then picking the fields would, in one pass."""

from __future__ import annotations

import pytest

from catalogue.repositories.records import ORDERED_FIELDS, STORE_ATTRIBUTES, projection, resource
from catalogue.schemas.common import picked_names
from catalogue.schemas.datasets import DatasetSchema

ITEM = {
    "pk": "dataset#air",
    "sk": "dataset",
    "gsi1pk": "datasets",
    "search_text": "air",
    "facet_values": {"theme": ["ENVI"]},
    "search_meta": {"access": "public"},
    "kind": "dataset",
    "rev": 3,
    "modified": "2026-01-02T00:00:00Z",
    "title": "Air",
    "id": "air",
    "contactPoint": {"name": "Data", "email": "data@example.no"},
    "keywords": ["luft"],
    "source": {"type": "event", "schema": {"fields": []}},
    "accessRights": "public",
}


def test_a_projection_of_a_schemas_fields_is_the_schemas_dump_of_the_resource() -> None:
    schema = DatasetSchema()
    project = projection(picked_names(schema))

    projected = project(ITEM)

    assert projected == schema.dump(resource(ITEM))
    assert list(projected) == list(schema.dump(resource(ITEM)))  # the schema's order


def test_a_projection_takes_keys_under_their_wire_names_in_the_order_given() -> None:
    project = projection([("name", "title"), ("etag", "rev"), ("missing", "absent")])

    assert list(project(ITEM).items()) == [("name", "Air"), ("etag", 3)]


@pytest.mark.parametrize("name", [*sorted(STORE_ATTRIBUTES), *ORDERED_FIELDS])
def test_a_projection_refuses_what_resource_would_drop_or_decode(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        projection([("title", "title"), (name, name)])
