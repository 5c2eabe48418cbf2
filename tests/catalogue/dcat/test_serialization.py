"""Each RDF syntax parses back to the same graph; every syntax is byte-stable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from catalogue.dcat.graph import to_graph
from catalogue.dcat.rdf import Statements
from catalogue.dcat.serialization import serialize
from catalogue.dcat.statements import catalog_statements
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    editions,
    make_dataset,
    make_distribution,
)

ROOT = Path(__file__).parents[3]


def sample_catalog() -> Statements:
    entries = [
        (make_dataset(f"set-{n}"), [make_distribution(f"set-{n}")], editions()) for n in range(3)
    ]
    page = {"self": f"{BASE_URL}/catalog", "next": f"{BASE_URL}/catalog?cursor=abc"}
    return catalog_statements(CATALOG_INFO, entries, BASE_URL, page)


@pytest.mark.parametrize("rdf_format", ["json-ld", "turtle", "xml"])
def test_serialised_graph_parses_back_isomorphic(rdf_format: str) -> None:
    described = sample_catalog()
    text = serialize(described, rdf_format)
    parsed = Graph().parse(data=text, format=rdf_format)
    assert len(parsed) == len(described)
    assert isomorphic(parsed, to_graph(described))


def test_json_ld_is_compact_with_prefixed_names() -> None:
    document = json.loads(serialize(sample_catalog()))
    assert document["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    types = {node["@id"]: node["@type"] for node in document["@graph"]}
    assert types[f"{BASE_URL}/catalog"] == "dcat:Catalog"
    assert types[f"{BASE_URL}/datasets/set-0"] == "dcat:Dataset"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported RDF format 'n3'"):
        serialize(sample_catalog(), "n3")


SCRIPT = """
import hashlib
from catalogue.dcat.serialization import serialize
from tests.catalogue.dcat.test_serialization import sample_catalog
described = sample_catalog()
for rdf_format in ("json-ld", "turtle", "xml"):
    print(hashlib.sha256(serialize(described, rdf_format).encode()).hexdigest())
"""


def test_every_format_is_identical_across_processes() -> None:
    # Set and dict order must not leak into the text: the publishing job needs equal bytes.
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
