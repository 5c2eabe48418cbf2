"""Portal files through a real ``brygge serve``: what comes out is what went in.

Each test uploads a file as Oslo kommune or Statistics Norway publish it over real HTTP and
reads the published Parquet back through the download link.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import Server, wait_until_ended

PORTAL = Path(__file__).parents[1] / "data" / "steps" / "portal"
OSLO_HOUSEHOLDS = (PORTAL / "oslo-husholdninger.csv").read_bytes()


class Portal:
    """A data owner's session against one server: datasets, pipelines, uploads, downloads."""

    def __init__(self, server: Server) -> None:
        self.url = server.url
        self.session = requests.Session()

    def dataset(self, title: str, states: list[tuple[str, str]], config: dict[str, Any]) -> str:
        """A public dataset whose pipeline runs ``states`` (name, step) in order, then publishes."""
        created = self.session.post(
            f"{self.url}/datasets",
            json={"title": title, "accessRights": "public", "owner": "team:statistikk"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        dataset_id = created.json()["id"]
        names = [name for name, _ in states] + ["Publish"]
        steps = [step for _, step in states] + ["publish"]
        definition = {
            "StartAt": names[0],
            "States": {
                name: {"Type": "Task", "Resource": f"brygge:step:{step}"}
                | ({"Next": names[n + 1]} if n + 1 < len(names) else {"End": True})
                for n, (name, step) in enumerate(zip(names, steps, strict=True))
            },
        }
        template = self.session.post(
            f"{self.url}/pipelines",
            json={"id": dataset_id, "title": title, "definition": definition},
            timeout=30,
        )
        assert template.status_code == 201, template.text
        self.configure(dataset_id, config)
        return dataset_id

    def configure(self, dataset_id: str, config: dict[str, Any]) -> None:
        answer = self.session.put(
            f"{self.url}/datasets/{dataset_id}/pipeline",
            json={"template": dataset_id, "taskConfig": config},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text

    def upload(self, dataset_id: str, filename: str, data: bytes) -> tuple[str, dict[str, Any]]:
        """Upload through the signed upload URL; returns the edition and the ended run."""
        answer = self.session.post(
            f"{self.url}/datasets/{dataset_id}/versions/1/uploads",
            json={"filename": filename, "size": len(data)},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        upload = answer.json()
        sent = requests.post(
            upload["upload"]["url"],
            data=upload["upload"]["fields"],
            files={"file": (filename, io.BytesIO(data))},
            timeout=60,
        )
        assert sent.status_code == 204, sent.text
        return upload["edition"], wait_until_ended(self.session, self.url, upload["run"]["id"])

    def publish(self, dataset_id: str, filename: str, data: bytes) -> tuple[dict[str, Any], Any]:
        """Upload a file that must publish; returns the run and the published frame."""
        edition, run = self.upload(dataset_id, filename, data)
        assert run["status"] == "SUCCEEDED", run
        return run, self.published(dataset_id, edition)

    def published(self, dataset_id: str, edition: str) -> Any:
        """The edition's one distribution, downloaded over HTTP and read as a polars frame."""
        import polars as pl

        distributions = self.session.get(
            f"{self.url}/datasets/{dataset_id}/versions/1/editions/{edition}/distributions",
            timeout=30,
        ).json()["items"]
        [distribution] = distributions
        download = self.session.get(distribution["downloadURL"], timeout=30)
        assert download.status_code == 200, download.text
        return pl.read_parquet(io.BytesIO(download.content))


def lambda_message(run: dict) -> str:
    """The message of a failed run's cause: Lambda's error payload, as on AWS."""
    cause = json.loads(run["error"]["cause"])
    assert cause["errorType"] == run["error"]["error"]
    return str(cause["errorMessage"])


def test_oslo_household_codes_keep_their_zeros_and_a_bad_value_names_its_row(
    brygge_server: Server,
) -> None:
    import polars as pl

    portal = Portal(brygge_server)
    # A partial schema: only 'aleneboende' is typed; the district codes are left out of it.
    schema = {
        "fields": [{"name": "aleneboende", "type": "integer", "groupChar": " "}],
        "missingValues": ["", ":"],
    }
    dataset_id = portal.dataset(
        "Husholdninger i Oslo",
        [("ToParquet", "csv_to_parquet")],
        {"ToParquet": {"delimiter": ";", "decimalChar": ",", "schema": schema}},
    )
    _, frame = portal.publish(dataset_id, "husholdninger.csv", OSLO_HOUSEHOLDS)
    assert frame.schema["delbydel_id"] == pl.String
    assert frame.schema["bydel_id"] == pl.String
    assert frame.get_column("delbydel_id").to_list()[:4] == ["0101", "0102", "0103", "0201"]
    assert frame.get_column("bydel_id").to_list()[:4] == ["01", "01", "01", "02"]
    assert frame.get_column("aleneboende").to_list()[:2] == [1523, 2210]

    # The same export grown past 10,000 rows with an 'N/A' at its end.
    header, first = OSLO_HOUSEHOLDS.split(b"\r\n")[:2]
    bad = first.replace(b"1 523", b"N/A")
    grown = b"\r\n".join([header, *([first] * 10_000), bad]) + b"\r\n"
    _, failed = portal.upload(dataset_id, "husholdninger-2024.csv", grown)
    assert failed["status"] == "FAILED", failed
    assert failed["error"]["error"] == "InputError"
    assert lambda_message(failed) == (
        "husholdninger-2024.csv: row 10002, column 'aleneboende': 'N/A' is not a valid integer"
    )


def test_infer_types_over_http_types_counts_and_leaves_codes_as_text(
    brygge_server: Server,
) -> None:
    import polars as pl

    portal = Portal(brygge_server)
    dataset_id = portal.dataset(
        "Husholdninger, typer gjettet",
        [("ToParquet", "csv_to_parquet")],
        {"ToParquet": {"delimiter": ";", "decimalChar": ",", "inferTypes": True}},
    )
    run, frame = portal.publish(dataset_id, "husholdninger.csv", OSLO_HOUSEHOLDS)
    # 'år' is typed; codes, '1 523' and the ':' markers keep their columns text.
    assert frame.schema["år"] == pl.Int64
    assert {frame.schema[name] for name in ("delbydel_id", "bydel_id", "aleneboende")} == {
        pl.String
    }
    assert frame.get_column("delbydel_id").to_list()[0] == "0101"
    [step] = run["steps"][:1]
    assert step["summary"]["inferredTypes"] == {"husholdninger.csv": {"år": "integer"}}


def test_ssb_workbook_range_from_an_empty_column_keeps_municipality_codes(
    brygge_server: Server,
) -> None:
    import polars as pl

    portal = Portal(brygge_server)
    dataset_id = portal.dataset(
        "Befolkning i kommunene",
        [("ToCsv", "excel_to_csv"), ("ToParquet", "csv_to_parquet")],
        {"ToCsv": {"range": "A16:F23"}},
    )
    workbook = (PORTAL / "ssb-kommuner-rapport.xlsx").read_bytes()
    _, frame = portal.publish(dataset_id, "07459.xlsx", workbook)
    assert frame.columns == ["kommunenummer", "kommune", "år", "folkemengde", "andel (%)"]
    assert frame.schema["kommunenummer"] == pl.String
    assert frame.get_column("kommunenummer").to_list() == [
        "0301",
        "1103",
        "4601",
        "5001",
        "0220",
        "3201",
        "1506",
    ]
    # Numbers as the sheet prints them: 0.0 is '0', not '0.0'.
    assert frame.row(4) == ("0220", "Asker (-2019)", "2024", "0", "0")


def test_validate_runs_before_the_conversion_with_the_same_dialect(
    brygge_server: Server,
) -> None:

    portal = Portal(brygge_server)
    dialect = {"delimiter": ";", "encoding": "cp1252", "decimalChar": ","}
    checked = {
        "fields": [
            {"name": "bydel", "constraints": {"required": True}},
            {"name": "innbyggere", "type": "integer", "groupChar": " "},
            {"name": "areal_km2", "type": "number", "constraints": {"maximum": 100}},
        ]
    }
    typed = {
        "fields": [
            {"name": "innbyggere", "type": "integer", "groupChar": " "},
            {"name": "areal_km2", "type": "number"},
        ]
    }
    dataset_id = portal.dataset(
        "Bydeler i Oslo",
        [("Check", "validate"), ("ToParquet", "csv_to_parquet")],
        {"Check": {**dialect, "schema": checked}, "ToParquet": {**dialect, "schema": typed}},
    )
    upload = (PORTAL / "oslo-bydeler-cp1252.csv").read_bytes()
    _, frame = portal.publish(dataset_id, "bydeler.csv", upload)
    # The valid rows kept their encoding, delimiter and trailing ';' for the next step.
    assert frame.columns == ["bydel", "innbyggere", "areal_km2"]
    assert frame.row(0) == ("Grünerløkka", 64_184, 4.8)
    assert frame.get_column("bydel").to_list()[1:] == [
        "Søndre Nordstrand",
        "Østensjø",
        "Vestre Aker",
    ]

    wrong = {"fields": [{"name": "befolkning", "type": "integer"}]}
    portal.configure(dataset_id, {"Check": {**dialect, "schema": wrong}, "ToParquet": {**dialect}})
    _, failed = portal.upload(dataset_id, "bydeler-2024.csv", upload)
    assert failed["status"] == "FAILED", failed
    assert lambda_message(failed) == (
        "bydeler-2024.csv has no column 'befolkning' named in the schema; its columns are "
        "bydel, innbyggere, areal_km2, column_4"
    )


def test_a_workbook_uploaded_to_a_csv_pipeline_is_named_as_one(
    brygge_server: Server, tmp_path: Path
) -> None:
    import xlwt

    portal = Portal(brygge_server)
    dataset_id = portal.dataset(
        "Befolkning som CSV", [("ToParquet", "csv_to_parquet")], {"ToParquet": {"delimiter": ";"}}
    )
    book = xlwt.Workbook()
    book.add_sheet("Ark1").write(0, 0, "kommunenummer")
    book.save(str(tmp_path / "old.xls"))
    workbooks = {
        "befolkning.xlsx": (PORTAL / "ssb-kommuner-rapport.xlsx").read_bytes(),
        "befolkning.csv": (PORTAL / "ssb-kommuner-rapport.xlsx").read_bytes(),
        "gammel.xls": (tmp_path / "old.xls").read_bytes(),
    }
    for filename, data in workbooks.items():
        _, failed = portal.upload(dataset_id, filename, data)
        assert failed["status"] == "FAILED", failed
        assert failed["error"]["error"] == "InputError"
        assert lambda_message(failed) == (
            f"{filename}: this is an Excel workbook; use excel_to_csv to turn its sheets into CSV"
        )
