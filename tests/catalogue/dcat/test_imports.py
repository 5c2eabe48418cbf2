"""The API can import the DCAT modules it calls per request without paying for rdflib."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.parametrize(
    "module",
    [
        "catalogue.dcat",
        "catalogue.dcat.catalog_info",
        "catalogue.dcat.negotiation",
        "catalogue.dcat.open_data",
        "catalogue.dcat.publishability",
        "catalogue.dcat.publishing",
        "catalogue.dcat.rdf",
        "catalogue.dcat.selection",
        "catalogue.dcat.serialization",
        "catalogue.dcat.statements",
        "catalogue.dcat.terms",
        "catalogue.dcat.vocabularies",
    ],
)
def test_module_imports_without_rdflib_or_boto3(module: str) -> None:
    heavy = "('rdflib', 'boto3', 'pyshacl')"
    code = f"import sys, {module}; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_graph_module_is_where_rdflib_loads() -> None:
    code = "import sys, catalogue.dcat.graph; print('rdflib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"
