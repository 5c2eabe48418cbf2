"""Item key formats of the single table: the one place that knows them.

Partition ``dataset#<id>`` holds a dataset and everything below it, so a cascade delete
and a children check are single-partition queries:

=======================  ==========================================  =========================
item                     pk                                          sk
=======================  ==========================================  =========================
dataset                  ``dataset#<id>``                            ``dataset``
version                  ``dataset#<id>``                            ``version#<v>``
edition                  ``dataset#<id>``                            ``edition#<v>#<e>``
distribution             ``dataset#<id>``                            ``distribution#<v>#<e>#<d>``
filter entry             ``filter#<name>#<value>``                   ``<dataset id>``
history entry            ``history#<dataset id>``                    ``<timestamp>#<uuid>``
=======================  ==========================================  =========================

Datasets also carry ``gsi1pk = "datasets"`` and ``gsi1sk = <id>`` so listing all datasets
is one index partition. Filter entries hold a copy of the filterable fields, so filters
combine without reading the datasets they reject.
"""

from __future__ import annotations

GSI1 = "gsi1"
ALL_DATASETS = "datasets"
DATASET_SK = "dataset"
DATASET_SCOPE = "dataset"


def dataset_pk(dataset: str) -> str:
    """Partition of a dataset and all its children."""
    return f"dataset#{dataset}"


def version_sk(version: str) -> str:
    return f"version#{version}"


def edition_sk(version: str, edition: str = "") -> str:
    """Sort key of an edition; with no edition, the prefix of all editions of the version."""
    return f"edition#{version}#{edition}"


def distribution_sk(version: str, edition: str, distribution: str = "") -> str:
    """Sort key of a distribution; with no id, the prefix of all of the edition's."""
    return f"distribution#{version}#{edition}#{distribution}"


def filter_pk(name: str, value: str) -> str:
    """Partition listing the datasets whose field ``name`` has ``value``."""
    return f"filter#{name}#{value}"


def history_pk(dataset: str) -> str:
    return f"history#{dataset}"
