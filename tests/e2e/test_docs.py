"""``GET /`` and the offline ``/docs`` through a real ``brygge serve``."""

from __future__ import annotations

import requests

from tests.e2e.conftest import Server


def test_docs_and_index_over_http(brygge_server: Server) -> None:
    index = requests.get(f"{brygge_server.url}/", timeout=10).json()
    # Links are absolute, on the request's own root when BRYGGE_BASE_URL is unset.
    assert index["links"]["docs"] == f"{brygge_server.url}/docs"
    page = requests.get(index["links"]["docs"], timeout=10)
    assert page.status_code == 200
    bundle = requests.get(f"{brygge_server.url}/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert bundle.status_code == 200
    assert bundle.headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
