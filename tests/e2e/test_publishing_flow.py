"""Publishing over real HTTP: ``brygge serve`` in a subprocess, ``brygge publish`` beside it.

An empty newer edition hides no published data, and one public base URL is the only host
in any link the API, its feed or the published open data carry.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import requests
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from tests.e2e.conftest import (
    Server,
    brygge_command,
    clean_environment,
    running_server,
    wait_until_ended,
)
from tests.test_cli_publish import DATASET as PUBLISHABLE

CSV = b"station,value\nAlna,1.5\n"
PUBLIC_BASE = "https://data.example.org/api"
OPEN_DATA_BASE = "https://data.example.org/open-data"


def upload(session: requests.Session, url: str, dataset_id: str, filename: str) -> dict[str, Any]:
    """Ask for an upload URL of ``dataset_id``; the answer, with its waiting run."""
    answer = session.post(
        f"{url}/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": filename, "contentType": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def send(upload_url: str, answer: dict[str, Any], filename: str) -> None:
    sent = requests.post(
        upload_url,
        data=answer["upload"]["fields"],
        files={"file": (filename, io.BytesIO(CSV), "text/csv")},
        timeout=60,
    )
    assert sent.status_code == 204, sent.text


def brygge_publish(server: Server, **settings: str) -> subprocess.CompletedProcess[str]:
    """``brygge publish`` on the server's home, as an operator's cron job runs it."""
    env = clean_environment(
        BRYGGE_HOME=str(server.home),
        BRYGGE_SECRET_KEY="e2e-secret",
        BRYGGE_CATALOG_CONTACT_EMAIL="data@example.org",
        **settings,
    )
    return subprocess.run(
        [*brygge_command(), "publish"], env=env, capture_output=True, text=True, timeout=120
    )


def distribution_iris(graph: Graph) -> set[str]:
    return {str(node) for node in graph.subjects(ns.RDF.type, ns.DCAT.Distribution)}


def test_an_unused_upload_url_withdraws_and_hides_nothing(brygge_server: Server) -> None:
    url = brygge_server.url
    session = requests.Session()
    created = session.post(f"{url}/datasets", json={**PUBLISHABLE, "id": "luft"}, timeout=30)
    assert created.status_code == 201, created.text
    first = upload(session, url, "luft", "luft.csv")
    send(first["upload"]["url"], first, "luft.csv")
    assert wait_until_ended(session, url, first["run"]["id"])["status"] == "SUCCEEDED"
    settings = {"BRYGGE_BASE_URL": url, "BRYGGE_OPEN_DATA_BASE_URL": "https://open.example.org"}
    published = brygge_publish(brygge_server, **settings)
    assert published.returncode == 0, published.stderr
    assert "published datasets/luft/luft.csv" in published.stdout
    public_file = brygge_server.home / "open-data/datasets/luft/luft.csv"
    assert public_file.read_bytes() == CSV

    # An upload URL handed out and never used: its edition is the newest, and empty.
    unused = upload(session, url, "luft", "never-sent.csv")
    assert unused["edition"] > first["edition"]

    feed = Graph().parse(
        data=session.get(f"{url}/catalog", params={"format": "turtle"}, timeout=30).text,
        format="turtle",
    )
    [distribution] = distribution_iris(feed)
    assert f"/editions/{first['edition']}/distributions/" in distribution
    dataset = Graph().parse(
        data=session.get(f"{url}/datasets/luft", params={"format": "turtle"}, timeout=30).text,
        format="turtle",
    )
    assert distribution_iris(dataset) == {distribution}
    run_iri = URIRef(f"{url}/runs/{first['run']['id']}")
    assert dataset.value(URIRef(f"{url}/datasets/luft"), ns.PROV.wasGeneratedBy) == run_iri
    gate = session.get(f"{url}/datasets/luft/publishability", timeout=30).json()
    assert gate == {"publishable": True, "missing": []}

    again = brygge_publish(brygge_server, **settings)
    assert again.returncode == 0, again.stderr
    assert "withdrew" not in again.stdout
    assert again.stdout.splitlines()[-1] == "published 0, withdrawn 0, unchanged 5, skipped 0"
    assert public_file.read_bytes() == CSV


# Hosts of the vocabularies the feed names; anything else must be the public base's host.
VOCABULARY_HOSTS = {
    "publications.europa.eu",
    "data.europa.eu",
    "www.w3.org",
    "purl.org",
    "xmlns.com",
    "spdx.org",
    "www.iana.org",
    "schema.org",
}
URL = re.compile(r"""(?:https?|file)://[^\s"'<>\\)]+""")


def foreign_urls(text: str) -> list[str]:
    """URLs in ``text`` on a host other than the public base's and the vocabularies'."""
    found = []
    for match in URL.findall(text):
        host = re.sub(r"^[a-z]+://", "", match).split("/", 1)[0]
        if match.startswith("file:") or host not in {"data.example.org", *VOCABULARY_HOSTS}:
            found.append(match)
    return found


class Proxy:
    """The reverse proxy in front of the server: the public base maps to the server's root.

    Every response passes through ``check``, which records any URL in its headers or body
    on a host other than the public base's.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = requests.Session()
        self.foreign: list[tuple[str, str]] = []

    def local(self, url: str) -> str:
        assert url.startswith(f"{PUBLIC_BASE}/"), url
        return self.server.url + url.removeprefix(PUBLIC_BASE)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        response = self.session.request(method, self.local(url), **kwargs)
        self.check(f"{method} {url}", response)
        return response

    def check(self, label: str, response: requests.Response) -> None:
        texts = [f"{name}: {value}" for name, value in response.headers.items()]
        if not response.headers.get("Content-Type", "").startswith(("text/csv", "application/o")):
            texts.append(response.text)
        for text in texts:
            self.foreign += [(label, url) for url in foreign_urls(text)]


def test_one_public_base_url_is_the_only_host_anywhere(tmp_path: Path) -> None:
    with running_server(tmp_path, tmp_path / "home", BRYGGE_BASE_URL=PUBLIC_BASE) as server:
        proxy = Proxy(server)
        api = PUBLIC_BASE
        created = proxy.request("POST", f"{api}/datasets", json={**PUBLISHABLE, "id": "luft"})
        assert created.status_code == 201, created.text
        assert created.headers["Location"] == f"{api}/datasets/luft"
        second = proxy.request("POST", f"{api}/datasets", json={**PUBLISHABLE, "id": "stoy"})
        assert second.status_code == 201, second.text
        version = proxy.request("POST", f"{api}/datasets/luft/versions", json={"version": "2"})
        assert version.headers["Location"] == f"{api}/datasets/luft/versions/2"
        answer = proxy.request(
            "POST",
            f"{api}/datasets/luft/versions/1/uploads",
            json={"filename": "målinger 2026.csv", "contentType": "text/csv"},
        ).json()
        assert answer["upload"]["url"].startswith(f"{api}/uploads/")
        send(proxy.local(answer["upload"]["url"]), answer, "målinger 2026.csv")
        run_id = answer["run"]["id"]
        assert wait_until_ended(proxy.session, server.url, run_id)["status"] == "SUCCEEDED"
        proxy.request("GET", f"{api}/runs/{run_id}")
        edition = answer["edition"]
        editions = f"{api}/datasets/luft/versions/1/editions"
        [distribution] = proxy.request("GET", f"{editions}/{edition}/distributions").json()["items"]
        assert distribution["downloadURL"].startswith(f"{editions}/{edition}/distributions/")
        redirect = proxy.request("GET", distribution["downloadURL"])
        assert redirect.status_code == 302
        assert redirect.headers["Location"].startswith(f"{api}/downloads/")
        assert proxy.request("GET", redirect.headers["Location"]).content == CSV
        for path in (
            "/datasets",
            "/datasets/luft",
            f"/datasets/luft/versions/1/editions/{edition}",
        ):
            proxy.request("GET", f"{api}{path}")
        for media_type in ("application/ld+json", "text/turtle", "application/rdf+xml"):
            feed = proxy.request("GET", f"{api}/catalog?limit=1", headers={"Accept": media_type})
            assert feed.status_code == 200
            assert f"{api}/catalog?limit=1&amp;cursor=" in feed.text or (
                f"{api}/catalog?limit=1&cursor=" in feed.text
            ), feed.text
            proxy.request("GET", f"{api}/datasets/luft", headers={"Accept": media_type})
        proxy.request("GET", f"{api}/openapi.json")
        index = proxy.request("GET", f"{api}/").json()
        assert index["links"]["catalog"] == f"{api}/catalog"

        published = brygge_publish(
            server, BRYGGE_BASE_URL=PUBLIC_BASE, BRYGGE_OPEN_DATA_BASE_URL=OPEN_DATA_BASE
        )
        assert published.returncode == 0, published.stderr
        assert proxy.foreign == []
        open_data = server.home / "open-data"
        for path in sorted(open_data.rglob("*")):
            if path.is_file() and path.suffix != ".csv":
                assert foreign_urls(path.read_text()) == [], path
        graph = Graph().parse(open_data / "catalog.ttl", format="turtle")
        downloads = {str(url) for url in graph.objects(None, ns.DCAT.downloadURL)}
        assert downloads == {f"{OPEN_DATA_BASE}/datasets/luft/m%C3%A5linger%202026.csv"}
        report = json.loads((open_data / "publish-report.json").read_text())
        assert "datasets/luft/målinger 2026.csv" in report["published"]
        assert (open_data / "datasets/luft/målinger 2026.csv").stat().st_mode & 0o777 == 0o644
