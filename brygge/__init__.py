"""Brygge's client for data owners: the SDK (``brygge.client``) and the ``brygge`` commands.

Imports only httpx, rich, click and the standard library, so it installs without the server.
"""

from __future__ import annotations

from brygge.client import Client
from brygge.resources import ClientError

__all__ = ["Client", "ClientError"]
