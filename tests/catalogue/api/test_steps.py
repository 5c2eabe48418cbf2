"""``GET /steps`` and the checks a pipeline passes when it is saved or validated."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from flask.testing import FlaskClient

from pipelines.steps import (
    csv_to_parquet,
    enrich,
    excel_to_csv,
    json_to_parquet,
    publish,
    transform,
    validate,
)
from pipelines.steps.contract import camel_case
from pipelines.steps.table_schema import TYPES
from tests.pipelines import run_steps

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
CONFIGS = {
    "csv_to_parquet": csv_to_parquet.CsvToParquetConfig,
    "json_to_parquet": json_to_parquet.JsonToParquetConfig,
    "excel_to_csv": excel_to_csv.ExcelToCsvConfig,
    "validate": validate.ValidateConfig,
    "transform": transform.TransformConfig,
    "enrich": enrich.EnrichConfig,
    "publish": publish.PublishConfig,
}
HELPER_MODULES = ("runtime", "contract", "tables", "expressions", "table_schema", "options")


def chain(*states: tuple[str, str]) -> dict:
    """A definition running ``(state name, resource)`` Tasks in order."""
    body = {}
    for index, (name, resource) in enumerate(states):
        body[name] = {"Type": "Task", "Resource": resource}
        if index + 1 < len(states):
            body[name]["Next"] = states[index + 1][0]
        else:
            body[name]["End"] = True
    return {"StartAt": states[0][0], "States": body}


CONVERT = chain(
    ("ToParquet", "brygge:step:csv_to_parquet"),
    ("Check", "brygge:step:validate"),
    ("Publish", "brygge:step:publish"),
)
TEMPLATE = {"id": "convert", "title": "Convert", "definition": CONVERT}
GOOD_CONFIG = {
    "ToParquet": {"delimiter": ";", "decimalChar": ","},
    "Check": {"schema": {"fields": [{"name": "station"}, {"name": "pm10", "type": "number"}]}},
}
# Four mistakes in two states, and a state the template does not have.
BAD_CONFIG = {
    "ToParquet": {
        "delimeter": ";",
        "schema": {"fields": [{"name": "pm10", "type": "numbr"}, {"name": "station"}]},
    },
    "Check": {
        "schema": {"fields": [{"name": "station", "constraints": {"requried": True}}]},
        "onInvalid": "ignore",
    },
    "ToCsv": {},
}
BAD_CONFIG_ERRORS = {
    "taskConfig": {
        "ToCsv": {
            "_schema": [
                "is not a Task state of the template (its Task states: Check, Publish, ToParquet)"
            ]
        },
        "ToParquet": {
            "delimeter": [
                "unknown option; did you mean 'delimiter'? known options: delimiter, quoteChar, "
                "doubleQuote, header, headerRows, footerRows, encoding, decimalChar, commentChar, "
                "groupChar, schema, inferTypes"
            ],
            "schema.fields[0].type": [
                'must be one of "string", "integer", "number", "boolean", "date", "datetime", '
                '"time", "year", "any", not "numbr"'
            ],
        },
        "Check": {
            "schema.fields[0].constraints.requried": [
                "unknown key; did you mean 'required'? known keys: required, unique, minimum, "
                "maximum, minLength, maxLength, pattern, enum"
            ],
            "onInvalid": ['must be one of "fail", "quarantine", "drop", not "ignore"'],
        },
    }
}


@pytest.fixture
def anonymous(app) -> FlaskClient:  # type: ignore[no-untyped-def]
    return FlaskClient(app)


@pytest.fixture
def template(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/pipelines", json=TEMPLATE)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def dataset(client) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    return "air"


# GET /steps ---------------------------------------------------------------------------------


def test_steps_are_listed_without_a_token_and_helper_modules_are_not_steps(anonymous) -> None:
    response = anonymous.get("/steps")
    assert response.status_code == 200
    items = response.json["items"]
    assert [item["name"] for item in items] == list(CONFIGS)
    for item in items:
        assert item["resource"] == f"brygge:step:{item['name']}"
        assert item["summary"] and item["description"] is not None
        assert item["options"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert anonymous.get("/steps/excel_to_csv").json["name"] == "excel_to_csv"
    for helper in HELPER_MODULES:
        assert anonymous.get(f"/steps/{helper}").status_code == 404


@pytest.mark.parametrize("step", list(CONFIGS))
def test_options_schema_is_the_config_class(anonymous, step: str) -> None:
    """Every field of the config class is an option, with its default; the rest required."""
    options = anonymous.get(f"/steps/{step}").json["options"]
    fields = dataclasses.fields(CONFIGS[step])
    assert list(options["properties"]) == [camel_case(field.name) for field in fields]
    assert options["additionalProperties"] is False
    required = [camel_case(f.name) for f in fields if f.default is dataclasses.MISSING]
    assert options.get("required", []) == required
    for field in fields:
        if field.default is not dataclasses.MISSING:
            default = field.default
            default = list(default) if isinstance(default, tuple) else default
            assert options["properties"][camel_case(field.name)]["default"] == default


def test_options_schema_has_types_choices_and_the_table_schema(anonymous) -> None:
    csv = anonymous.get("/steps/csv_to_parquet").json["options"]["properties"]
    assert csv["delimiter"] == {"type": ["string", "null"], "default": None}
    assert csv["doubleQuote"] == {"type": "boolean", "default": True}
    table_schema, null = csv["schema"]["anyOf"]
    assert null == {"type": "null"}
    field = table_schema["properties"]["fields"]["items"]
    assert field["properties"]["type"]["enum"] == list(TYPES)
    assert "pattern" in field["properties"]["constraints"]["properties"]
    checked = anonymous.get("/steps/validate").json["options"]
    assert checked["required"] == ["schema"]
    unmatched = typing.get_type_hints(validate.ValidateConfig)["on_invalid"]
    assert checked["properties"]["onInvalid"]["enum"] == list(typing.get_args(unmatched))
    excel = anonymous.get("/steps/excel_to_csv").json["options"]["properties"]
    assert excel["sheet"] == {"type": ["string", "integer"], "default": 1}
    cast = anonymous.get("/steps/transform").json["options"]["properties"]["cast"]
    assert cast["anyOf"][0]["additionalProperties"]["enum"] == list(transform.CAST_TYPES)


def test_each_steps_example_passes_the_check(client) -> None:
    for step in client.get("/steps").json["items"]:
        state = next(iter(step["example"]))
        body = {"definition": chain((state, step["resource"])), "taskConfig": step["example"]}
        response = client.post("/pipelines/validate", json=body)
        assert response.status_code == 200, (step["name"], response.json)
        assert response.json == {"valid": True}


# Templates: every Task names a step -----------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "hint"),
    [
        ("brygge:step:excel_to_cvs", "did you mean 'excel_to_csv'?"),
        ("brygge:step:runtime", ""),
        ("brygge:step:table_schema", ""),
        ("brygge:step:contract", ""),
    ],
)
def test_a_task_naming_no_step_is_422_naming_the_state_and_resource(
    client, template, resource: str, hint: str
) -> None:
    definition = chain(("ToParquet", "brygge:step:csv_to_parquet"), ("Convert", resource))
    created = client.post("/pipelines", json={**TEMPLATE, "id": "other", "definition": definition})
    assert created.status_code == 422
    (message,) = created.json["errors"]["json"]["definition"]
    assert message.startswith(f"state 'Convert': field 'Resource': {resource!r} names no step; ")
    assert hint in message
    assert "csv_to_parquet, json_to_parquet, excel_to_csv, validate, transform" in message
    replaced = client.put("/pipelines/convert", json={"title": "Convert", "definition": definition})
    assert replaced.status_code == 422
    assert replaced.json["errors"]["json"]["definition"] == [message]
    assert client.get("/pipelines/convert").json["version"] == 1
    assert client.get("/pipelines/other").status_code == 404
    checked = client.post("/pipelines/validate", json={"definition": definition})
    assert checked.status_code == 422
    assert checked.json["errors"]["json"]["definition"] == [message]


def test_a_template_may_name_steps_a_tool_registered(client, monkeypatch) -> None:
    definition = chain(("Upper", "brygge:step:upper"))
    assert client.post("/pipelines/validate", json={"definition": definition}).status_code == 422
    run_steps.register(monkeypatch)
    body = {"id": "text", "title": "Text", "definition": definition}
    assert client.post("/pipelines", json=body).status_code == 201


def test_a_template_cannot_be_called_validate(client) -> None:
    response = client.post("/pipelines", json={**TEMPLATE, "id": "validate"})
    assert response.status_code == 422
    assert "id" in response.json["errors"]["json"]


# Dataset pipelines: every Task state's options fit its step -----------------------------------


def test_dataset_pipeline_with_bad_options_is_422_with_every_problem(
    client, template, dataset
) -> None:
    body = {"template": "convert", "taskConfig": BAD_CONFIG}
    response = client.put("/datasets/air/pipeline", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"] == BAD_CONFIG_ERRORS
    assert response.json["message"].startswith("the pipeline has 5 problems: taskConfig.ToCsv: ")
    assert "taskConfig.ToParquet.schema.fields[0].type: must be one of" in response.json["message"]
    assert client.get("/datasets/air/pipeline").status_code == 404
    checked = client.post("/datasets/air/pipeline/validate", json=body)
    assert checked.status_code == 422
    assert checked.json["errors"]["json"] == BAD_CONFIG_ERRORS


def test_missing_options_and_step_rules_are_problems_too(client, template, dataset) -> None:
    """A step's required option counts when the state has no entry; value rules are checked."""
    response = client.put(
        "/datasets/air/pipeline",
        json={"template": "convert", "taskConfig": {"ToParquet": {"delimiter": ";;"}}},
    )
    assert response.status_code == 422
    assert response.json["errors"]["json"]["taskConfig"] == {
        "ToParquet": {"delimiter": ['must be one character other than a line break, or "auto"']},
        "Check": {"schema": ["is required"]},
    }
    pattern = {"fields": [{"name": "code", "constraints": {"pattern": "(0-9"}}]}
    bad_pattern = client.put(
        "/datasets/air/pipeline",
        json={"template": "convert", "taskConfig": {"Check": {"schema": pattern}}},
    )
    assert bad_pattern.status_code == 422
    reasons = bad_pattern.json["errors"]["json"]["taskConfig"]["Check"]
    assert list(reasons) == ["schema.fields[0].constraints.pattern"]
    assert reasons["schema.fields[0].constraints.pattern"][0].startswith("invalid: ")


def test_good_options_are_saved_and_validate_saves_nothing(client, template, dataset) -> None:
    body = {"template": "convert", "taskConfig": GOOD_CONFIG}
    checked = client.post("/datasets/air/pipeline/validate", json=body)
    assert checked.status_code == 200
    assert checked.json == {"valid": True}
    assert client.get("/datasets/air/pipeline").status_code == 404
    saved = client.put("/datasets/air/pipeline", json=body)
    assert saved.status_code == 200, saved.json
    assert saved.json["taskConfig"] == GOOD_CONFIG


def test_template_validate_checks_a_task_config_and_saves_nothing(client) -> None:
    good = client.post("/pipelines/validate", json={**TEMPLATE, "taskConfig": GOOD_CONFIG})
    assert good.status_code == 200
    assert good.json == {"valid": True}
    assert client.get("/pipelines/convert").status_code == 404
    bad = client.post("/pipelines/validate", json={"definition": CONVERT, "taskConfig": BAD_CONFIG})
    assert bad.status_code == 422
    assert bad.json["errors"]["json"] == BAD_CONFIG_ERRORS


def test_a_template_checked_without_a_task_config_is_checked_as_saving_it_would_be(
    client,
) -> None:
    # validate needs a schema, but a template has no options: each dataset gives its own.
    alone = client.post("/pipelines/validate", json={"definition": CONVERT})
    assert alone.status_code == 200, alone.json
    assert alone.json == {"valid": True}
    assert client.post("/pipelines", json=TEMPLATE).status_code == 201
    # An empty taskConfig given is still checked: it lacks the options a Task needs.
    empty = client.post("/pipelines/validate", json={"definition": CONVERT, "taskConfig": {}})
    assert empty.status_code == 422
    assert empty.json["errors"]["json"]["taskConfig"]["Check"] == {"schema": ["is required"]}


def test_dataset_pipeline_validate_needs_the_right_to_change_the_pipeline(
    app, client, template, dataset
) -> None:
    body = {"template": "convert", "taskConfig": GOOD_CONFIG}
    assert FlaskClient(app).post("/datasets/air/pipeline/validate", json=body).status_code == 401
    assert client.post("/datasets/none/pipeline/validate", json=body).status_code == 404
    unknown = client.post("/datasets/air/pipeline/validate", json={"template": "nothing"})
    assert unknown.status_code == 422
    assert "template" in unknown.json["errors"]["json"]


def test_openapi_document_links_to_the_steps(client) -> None:
    spec = client.get("/openapi.json").json
    assert "/steps" in spec["paths"]
    assert "/pipelines/validate" in spec["paths"]
    assert "/datasets/{dataset_id}/pipeline/validate" in spec["paths"]
    assert "GET /steps" in spec["info"]["description"]
    task_config = spec["components"]["schemas"]["DatasetPipeline"]["properties"]["taskConfig"]
    assert "GET /steps" in task_config["description"]


def test_a_bound_not_of_its_fields_type_is_422_at_save(client, template, dataset) -> None:
    schema = {"fields": [{"name": "n", "type": "integer", "constraints": {"minimum": "abc"}}]}
    response = client.put(
        "/datasets/air/pipeline",
        json={"template": "convert", "taskConfig": {"Check": {"schema": schema}}},
    )
    assert response.status_code == 422
    reasons = response.json["errors"]["json"]["taskConfig"]["Check"]
    assert reasons == {"schema.fields[0].constraints.minimum": ["'abc' is not an integer"]}
