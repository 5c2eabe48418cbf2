"""Create the items table and its secondary index gsi1."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any


def sqlite(conn: sqlite3.Connection) -> None:
    """Create ``items``: one row per item, the item as JSON in ``body``."""
    # id is the rowid alias, stable across VACUUM, so the search table can point at it.
    conn.execute(
        "CREATE TABLE items ("
        " id INTEGER PRIMARY KEY,"
        " pk TEXT NOT NULL COLLATE BINARY,"
        " sk TEXT NOT NULL COLLATE BINARY,"
        " gsi1pk TEXT COLLATE BINARY,"
        " gsi1sk TEXT COLLATE BINARY,"
        " rev INTEGER NOT NULL,"
        " body TEXT NOT NULL,"
        " UNIQUE (pk, sk))"
    )
    conn.execute("CREATE INDEX items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk)")


def dynamodb(client: Any, table_name: str) -> None:
    """Create the table (on-demand, gsi1 projecting everything), wait until it is ACTIVE."""
    string = "S"
    # An earlier, interrupted run of this migration may have made the table already.
    with contextlib.suppress(client.exceptions.ResourceInUseException):
        client.create_table(
            TableName=table_name,
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": string}
                for name in ("pk", "sk", "gsi1pk", "gsi1sk")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    # table_exists succeeds once TableStatus is ACTIVE (indexes made with a table are too).
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
    )
    _enable_point_in_time_recovery(client, table_name)


def _enable_point_in_time_recovery(client: Any, table_name: str) -> None:
    from botocore.exceptions import ClientError

    # DynamoDB Local and some emulators do not support point-in-time recovery; AWS does.
    with contextlib.suppress(ClientError):
        client.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
