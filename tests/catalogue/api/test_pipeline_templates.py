"""Pipeline templates (versioned) and dataset pipelines over the API."""

from __future__ import annotations

import pytest

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


def definition(*steps: str) -> dict:
    """A chain of step Tasks named after their steps in CamelCase."""
    names = ["".join(part.title() for part in step.split("_")) for step in steps]
    states = {}
    for index, (name, step) in enumerate(zip(names, steps, strict=True)):
        state = {"Type": "Task", "Resource": f"brygge:step:{step}"}
        if index + 1 < len(names):
            state["Next"] = names[index + 1]
        else:
            state["End"] = True
        states[name] = state
    return {"StartAt": names[0], "States": states}


TEMPLATE = {
    "id": "csv-to-parquet",
    "title": "CSV to Parquet",
    "description": "convert and publish",
    "definition": definition("csv_to_parquet", "publish"),
}


@pytest.fixture
def template(client):
    response = client.post("/pipelines", json=TEMPLATE)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def dataset(client):
    assert client.post("/datasets", json=DATASET).status_code == 201
    return "air"


def test_template_is_created_read_and_listed(client, template) -> None:
    assert template["version"] == 1
    assert template["definition"] == TEMPLATE["definition"]
    read = client.get("/pipelines/csv-to-parquet")
    assert read.status_code == 200
    assert read.headers["ETag"].startswith('"r1.')
    assert read.json["title"] == "CSV to Parquet"
    listed = client.get("/pipelines").json
    assert [item["id"] for item in listed["items"]] == ["csv-to-parquet"]
    assert listed["next"] is None
    assert client.post("/pipelines", json=TEMPLATE).status_code == 409


def test_list_reads_every_page(client) -> None:
    for number in range(5):
        body = {**TEMPLATE, "id": f"t{number}"}
        assert client.post("/pipelines", json=body).status_code == 201
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/pipelines", query_string=query).json
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"t{number}" for number in range(5)]


def test_invalid_definition_is_422_with_the_validators_messages(client) -> None:
    broken = {
        "StartAt": "Convert",
        "States": {
            "Convert": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Nowhere"}
        },
    }
    response = client.post("/pipelines", json={**TEMPLATE, "definition": broken})
    assert response.status_code == 422
    messages = response.json["errors"]["json"]["definition"]
    assert any("Convert" in message and "Nowhere" in message for message in messages)


@pytest.mark.parametrize(
    ("state", "fragment"),
    [
        ({"Type": "Task", "Resource": "arn:aws:lambda:x", "End": True}, "brygge:step:"),
        ({"Type": "Task", "Resource": "brygge:step:Bad-Name", "End": True}, "step name"),
        (
            {
                "Type": "Task",
                "Resource": "brygge:step:publish",
                "ResultSelector": {"a.$": "$.b"},
                "End": True,
            },
            "ResultSelector",
        ),
    ],
)
def test_task_states_must_name_steps(client, state, fragment) -> None:
    body = {**TEMPLATE, "definition": {"StartAt": "Only", "States": {"Only": state}}}
    response = client.post("/pipelines", json=body)
    assert response.status_code == 422
    messages = response.json["errors"]["json"]["definition"]
    assert any(fragment in message and "'Only'" in message for message in messages)


def test_put_makes_a_new_version_and_datasets_keep_the_pinned_one(
    client, template, dataset
) -> None:
    pinned = client.put(
        "/datasets/air/pipeline",
        json={"template": "csv-to-parquet", "taskConfig": {"CsvToParquet": {"delimiter": ";"}}},
    )
    assert pinned.status_code == 200, pinned.json
    assert pinned.json["version"] == 1
    changed = {key: value for key, value in TEMPLATE.items() if key != "id"}
    changed["definition"] = definition("csv_to_parquet")
    stale = client.put("/pipelines/csv-to-parquet", json=changed, headers={"If-Match": '"r9"'})
    assert stale.status_code == 412
    etag = client.get("/pipelines/csv-to-parquet").headers["ETag"]
    updated = client.put("/pipelines/csv-to-parquet", json=changed, headers={"If-Match": etag})
    assert updated.status_code == 200
    assert updated.json["version"] == 2
    assert client.get("/pipelines/csv-to-parquet").json["definition"] == changed["definition"]
    assert client.get("/datasets/air/pipeline").json["version"] == 1
    # Set again without a version, the pipeline keeps the version it pinned.
    kept = client.put("/datasets/air/pipeline", json={"template": "csv-to-parquet"})
    assert kept.json["version"] == 1
    assert kept.json["taskConfig"] == {}
    repinned = client.put(
        "/datasets/air/pipeline", json={"template": "csv-to-parquet", "version": 2}
    )
    assert repinned.json["version"] == 2


def test_dataset_pipeline_rejects_unknown_task_names_and_templates(
    client, template, dataset
) -> None:
    bad_key = client.put(
        "/datasets/air/pipeline",
        json={"template": "csv-to-parquet", "taskConfig": {"ToParquet": {}}},
    )
    assert bad_key.status_code == 422
    assert "ToParquet" in bad_key.json["errors"]["json"]["taskConfig"]
    unknown = client.put("/datasets/air/pipeline", json={"template": "nothing"})
    assert unknown.status_code == 422
    assert "template" in unknown.json["errors"]["json"]
    no_dataset = client.put("/datasets/none/pipeline", json={"template": "csv-to-parquet"})
    assert no_dataset.status_code == 404
    assert client.get("/datasets/air/pipeline").status_code == 404


def test_dataset_pipeline_changes_are_audited_and_block_template_delete(
    client, template, dataset
) -> None:
    set_it = client.put("/datasets/air/pipeline", json={"template": "csv-to-parquet"})
    assert set_it.status_code == 200
    in_use = client.delete("/pipelines/csv-to-parquet")
    assert in_use.status_code == 409
    assert "air" in in_use.json["message"]
    assert client.delete("/datasets/air/pipeline").status_code == 204
    assert client.get("/datasets/air/pipeline").status_code == 404
    assert client.delete("/pipelines/csv-to-parquet").status_code == 204
    assert client.get("/pipelines/csv-to-parquet").status_code == 404
    services = client.application.extensions["brygge"]
    entries = services.repositories.audit.for_dataset(
        "air", incarnation=None, limit=50, cursor=None
    ).items
    pipeline_entries = [e for e in entries if e["resource"] == "/datasets/air/pipeline"]
    assert [e["action"] for e in pipeline_entries] == ["delete", "create"]
    assert pipeline_entries[1]["changes"]["template"]["after"] == "csv-to-parquet"


def test_deleting_a_dataset_releases_its_template(client, template, dataset) -> None:
    assert (
        client.put("/datasets/air/pipeline", json={"template": "csv-to-parquet"}).status_code == 200
    )
    assert client.delete("/datasets/air").status_code == 204
    assert client.post("/datasets", json=DATASET).status_code == 201
    assert client.get("/datasets/air/pipeline").status_code == 404
    assert client.delete("/pipelines/csv-to-parquet").status_code == 204


def test_a_definition_too_large_to_store_is_422_naming_it(client) -> None:
    # DynamoDB keeps an item (a version, its audit entry with the old and new definitions)
    # in at most 400 KB; on AWS such a template was a 500 while SQLite took it.
    states = {
        f"S{n}": {"Type": "Pass", "Comment": "x" * 100, "Next": f"S{n + 1}"} for n in range(1500)
    }
    states["S1500"] = {"Type": "Task", "Resource": "brygge:step:publish", "End": True}
    huge = {**TEMPLATE, "definition": {"StartAt": "S0", "States": states}}
    response = client.post("/pipelines", json=huge)
    assert response.status_code == 422
    [reason] = response.json["errors"]["json"]["definition"]
    assert reason.startswith("is 225,878 bytes of JSON")
    assert "at most 131,072 bytes" in reason
    assert client.get("/pipelines/csv-to-parquet").status_code == 404


def schema_config(columns: int) -> dict:
    """A validate step's taskConfig whose Table Schema describes ``columns`` columns."""
    fields = [
        {"name": f"column_{index}", "type": "string", "description": "målt verdi " * 12}
        for index in range(columns)
    ]
    return {"Validate": {"schema": {"fields": fields}}}


def test_a_task_config_too_large_for_the_runs_copying_it_is_422(client, dataset) -> None:
    validating = {**TEMPLATE, "id": "validated", "definition": definition("validate", "publish")}
    assert client.post("/pipelines", json=validating).status_code == 201
    # About 290 KB: the pipeline's item would hold it, but each run copies it (and Step
    # Functions hands it to every state, whose payload holds 256 KiB).
    refused = client.put(
        "/datasets/air/pipeline", json={"template": "validated", "taskConfig": schema_config(1800)}
    )
    assert refused.status_code == 422, refused.json
    (reason,) = refused.json["errors"]["json"]["taskConfig"]
    assert "131,072 bytes" in reason
    assert client.get("/datasets/air/pipeline").status_code == 404

    largest = schema_config(640)
    kept = client.put(
        "/datasets/air/pipeline", json={"template": "validated", "taskConfig": largest}
    )
    assert kept.status_code == 200, kept.json
    # The run an upload makes holds a copy of it.
    upload = client.post("/datasets/air/versions/1/uploads", json={"filename": "air.csv"})
    assert upload.status_code == 201, upload.json
    run = client.get(f"/runs/{upload.json['run']['id']}")
    assert run.json["status"] == "WAITING"
