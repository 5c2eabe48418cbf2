"""enrich: left join with a lookup, row order kept, and the unmatched-rows policies."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import enrich
from pipelines.steps.contract import ConfigError, InputError, UnmatchedRows
from tests.pipelines.steps.conftest import MakeEvent, Put, data_file
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
SPECIES_KEY = "processed/green/species/version=1/edition=20230101T000000/species.csv"


@pytest.fixture
def species(objects: LocalObjectStore, recorder: MemoryRecorder) -> str:
    objects.put(SPECIES_KEY, io.BytesIO(data_file("species.csv")))
    recorder.latest["species"] = [SPECIES_KEY]
    recorder.readable["species"] = "public"
    return SPECIES_KEY


def run_enrich(
    objects: LocalObjectStore, make_event: MakeEvent, key: str, config: dict[str, Any]
) -> pl.DataFrame:
    result = enrich.handler(make_event("AddSpecies", [key], config), None)
    [output] = result["input"]["keys"]
    return pl.read_csv(io.BytesIO(objects.get(output)), infer_schema=False)


def test_lookup_by_dataset_adds_columns_and_keeps_row_order(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    species: str,
    put: Put,
    make_event: MakeEvent,
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    config = {"lookup": {"dataset": "species"}, "on": {"species": "code"}, "columns": ["name"]}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.columns == ["tree_id", "species", "height_m", "planted", "name"]
    assert frame.select("tree_id", "name").rows() == [
        ("1", "Albizia"),
        ("2", "Betula"),
        ("3", "Albizia"),
        ("4", None),
    ]
    assert recorder.finished("AddSpecies")[5] == {"rows": 4, "matched": 3, "unmatched": 1}


def test_row_order_survives_a_large_shuffled_input(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    codes = [f"k{(n * 7919) % 5000}" for n in range(20_000)]
    buffer = io.BytesIO()
    pl.DataFrame({"n": range(20_000), "code": codes}).write_csv(buffer)
    key = put("big.csv", buffer.getvalue())
    lookup = io.BytesIO()
    pl.DataFrame({"code": [f"k{n}" for n in range(5000)], "label": range(5000)}).write_csv(lookup)
    lookup_key = put("lookup.csv", lookup.getvalue())
    frame = run_enrich(objects, make_event, key, {"lookup": {"key": lookup_key}, "on": "code"})
    assert frame.get_column("n").to_list() == [str(n) for n in range(20_000)]
    assert frame.get_column("label").to_list() == [code[1:] for code in codes]


def test_unmatched_drop_removes_rows_without_a_match(
    objects: LocalObjectStore, species: str, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    config = {"lookup": {"dataset": "species"}, "on": {"species": "code"}, "unmatched": "drop"}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.get_column("tree_id").to_list() == ["1", "2", "3"]
    assert frame.columns[-2:] == ["name", "family"]


def test_unmatched_fail_names_the_rows(
    recorder: MemoryRecorder, species: str, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    config = {"lookup": {"dataset": "species"}, "on": {"species": "code"}, "unmatched": "fail"}
    with pytest.raises(UnmatchedRows) as raised:
        enrich.handler(make_event("AddSpecies", [key], config), None)
    assert raised.value.count == 1
    assert raised.value.examples == ["row 5: species 'XXX'"]
    assert recorder.finished("AddSpecies")[4]["error"] == "UnmatchedRows"


def test_blank_lines_of_a_csv_input_are_no_rows_and_keep_the_row_numbers(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    lookup = put("kommuner.csv", b"kode,navn\r\n0301,Oslo\r\n1103,Stavanger\r\n")
    key = put("folk.csv", b"kode,antall\r\n0301,5\r\n\r\n1103,7\r\n\r\n")
    config = {"lookup": {"key": lookup}, "on": "kode", "unmatched": "fail"}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.rows() == [("0301", "5", "Oslo"), ("1103", "7", "Stavanger")]
    assert recorder.finished("AddSpecies")[5] == {"rows": 2, "matched": 2, "unmatched": 0}
    key = put("folk.csv", b"kode,antall\r\n0301,5\r\n\r\n9999,7\r\n\r\n")
    with pytest.raises(UnmatchedRows) as raised:
        enrich.handler(make_event("AddSpecies", [key], config), None)
    assert raised.value.examples == ["row 4: kode '9999'"]


def test_parquet_lookup_with_integer_keys_joins_text_columns(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"tree_id": [2, 1], "owner": ["Bydel Frogner", "Bydel Alna"]}).write_parquet(
        buffer
    )
    lookup_key = put("owners.parquet", buffer.getvalue())
    key = put("trees.csv", data_file("trees.csv"))
    frame = run_enrich(objects, make_event, key, {"lookup": {"key": lookup_key}, "on": ["tree_id"]})
    assert frame.get_column("owner").to_list() == ["Bydel Alna", "Bydel Frogner", None, None]


def test_duplicate_lookup_keys_are_an_input_error(put: Put, make_event: MakeEvent) -> None:
    lookup_key = put("dup.csv", b"code,name\nALB,A\nALB,B\n")
    key = put("trees.csv", data_file("trees.csv"))
    config = {"lookup": {"key": lookup_key}, "on": {"species": "code"}}
    with pytest.raises(InputError, match=r"more than one row for the key \(ALB\)"):
        enrich.handler(make_event("AddSpecies", [key], config), None)


def test_lookup_rows_without_a_key_are_left_out(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # Blank lines at the end and rows with no code: such rows can match no input row.
    lookup = put("kommuner.csv", b"kode,navn\r\n0301,Oslo\r\n,Ukjent\r\n1103,\r\n,\r\n\r\n\r\n")
    key = put("folk.csv", b"kode,antall\n0301,5\n1103,7\n")
    config = {"lookup": {"key": lookup}, "on": "kode", "unmatched": "fail"}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.rows() == [("0301", "5", "Oslo"), ("1103", "7", None)]


def test_a_dataset_without_distributions_is_an_input_error(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    recorder.readable["nothing-here"] = "public"
    key = put("trees.csv", data_file("trees.csv"))
    config = {"lookup": {"dataset": "nothing-here"}, "on": "species"}
    with pytest.raises(InputError, match="has no published"):
        enrich.handler(make_event("AddSpecies", [key], config), None)


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"lookup": {"url": "http://x"}, "on": "code"}, "lookup"),
        ({"lookup": {"dataset": "species"}, "on": "nope"}, "on"),
        (
            {"lookup": {"dataset": "species"}, "on": {"species": "code"}, "columns": ["x"]},
            "columns",
        ),
        ({"lookup": {"dataset": "species"}, "on": []}, "on"),
        ({"lookup": {"dataset": "species"}, "on": "code", "unmatched": "ignore"}, "unmatched"),
        ({"on": "code"}, "lookup"),
    ],
)
def test_bad_options_name_the_option(
    species: str, put: Put, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    with pytest.raises(ConfigError) as raised:
        enrich.handler(make_event("AddSpecies", [key], config), None)
    assert raised.value.key == option


def test_a_column_already_in_the_input_is_refused(
    species: str, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", b"species,name\nALB,mine\n")
    config = {"lookup": {"dataset": "species"}, "on": {"species": "code"}}
    with pytest.raises(ConfigError, match="'name' is already a column"):
        enrich.handler(make_event("AddSpecies", [key], config), None)


def test_a_csv_in_its_own_dialect_is_read_and_written_back_in_it(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # What validate hands on for a municipality's file: ';', Latin-1, a sep= line.
    budgets = "sep=;\r\nskole_id;skole;budsjett\r\n0301-001;Bjølsen;1 234,50\r\n0301-002;Ås;-\r\n"
    key = put("budsjett.csv", budgets.encode("latin-1"))
    lookup_key = put("skoler.csv", "skole_id,bydel\n0301-001,Sagene\n0301-002,Søndre\n".encode())
    config = {
        "delimiter": ";",
        "encoding": "latin-1",
        "lookup": {"key": lookup_key},
        "on": "skole_id",
    }
    result = enrich.handler(make_event("AddDistrict", [key], config), None)
    [output] = result["input"]["keys"]
    assert objects.get(output).decode("latin-1").splitlines() == [
        "sep=;",
        "skole_id;skole;budsjett;bydel",
        "0301-001;Bjølsen;1 234,50;Sagene",
        "0301-002;Ås;-;Søndre",
    ]


def test_a_lookup_published_as_uploaded_is_read_in_its_own_dialect(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # A lookup dataset without a pipeline publishes its upload as it is: ';' and cp1252.
    published = "processed/green/schools/version=1/edition=20230101T000000/skoler.csv"
    objects.put(published, io.BytesIO("skole_id;bydel\r\n1;Søndre\r\n".encode("cp1252")))
    recorder.latest["schools"] = [published]
    recorder.readable["schools"] = "public"
    key = put("elever.csv", b"skole_id,elever\n1,412\n")
    config = {"lookup": {"dataset": "schools"}, "on": "skole_id"}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.rows() == [("1", "412", "Søndre")]


def test_a_lookup_published_with_its_title_and_notes_is_read_as_its_preview_describes_it(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # A PX-Web export kept whole (validate writes its title and notes back): the title was
    # taken for the header ("the lookup has no column 'region'").
    published = "processed/green/regions/version=1/edition=20230101T000000/regioner.csv"
    lookup = (
        '"05803: Folkemengde, etter region og år"\r\n'
        "\r\n"
        '"region";"år";"Personer"\r\n'
        '"0301";"2023";709037\r\n'
        '"1103";"2023";146011\r\n'
        "\r\n"
        '"Kilde: SSB, tabell 05803"\r\n'
    )
    objects.put(published, io.BytesIO(lookup.encode()))
    recorder.latest["regions"] = [published]
    recorder.readable["regions"] = "public"
    key = put("skoler.csv", b"skole,region\nBjolsen,0301\nMadla,1103\n")
    config = {"lookup": {"dataset": "regions"}, "on": "region", "columns": ["Personer"]}
    frame = run_enrich(objects, make_event, key, config)
    assert frame.rows() == [("Bjolsen", "0301", "709037"), ("Madla", "1103", "146011")]
