"""open_store picks the backend the settings name; importing the stores does nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from catalogue.settings import Settings
from catalogue.store.dynamodb import DynamoDbStore
from catalogue.store.factory import open_store
from catalogue.store.sqlite import SqliteStore


def test_local_settings_open_the_sqlite_file_under_home(tmp_path: Path) -> None:
    store = open_store(Settings(backend="local", home=tmp_path))

    assert isinstance(store, SqliteStore) and store.backend == "sqlite"
    assert store.path == tmp_path / "brygge.sqlite3"
    assert not store.path.exists()  # opening connects to nothing until first use
    store.close()


def test_aws_settings_open_the_dynamodb_table() -> None:
    store = open_store(Settings(backend="aws", dynamodb_table="catalogue-table"))

    assert isinstance(store, DynamoDbStore) and store.backend == "dynamodb"
    assert store.table_name == "catalogue-table"


def test_importing_the_stores_loads_no_aws_sdk_and_reads_no_environment() -> None:
    code = (
        "import os, sys\n"
        "os.environ = None  # any environment read at import fails\n"
        "import catalogue.store.factory, catalogue.store.sqlite, catalogue.store.dynamodb\n"
        "import catalogue.store.migrations\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
