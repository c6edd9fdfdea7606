"""The CLI against a real Chroma server (`chroma run`): same results as the embedded store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from scripts.app_server import free_port

pytestmark = pytest.mark.subprocess  # a real `chroma run`

RULES = {
    "drones.md": "# Drone rules\n\n## Registration\n\nEvery drone heavier than 250 grams must be "
                 "registered with the aviation authority before its first flight.\n\n## Night "
                 "flights\n\nFlying a drone at night requires a green flashing light.\n",
    "helmets.txt": "Bicycle helmets\n\nChildren under twelve must wear a helmet when cycling on "
                   "public roads.\n",
}


def chroma_executable() -> str:
    beside_python = Path(sys.executable).with_name("chroma")
    found = str(beside_python) if beside_python.is_file() else shutil.which("chroma")
    if not found:
        pytest.fail("the `chroma` command (installed with chromadb) was not found")
    return found


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on 127.0.0.1, its URL; stopped after the session."""
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([chroma_executable(), "run", "--path", str(folder / "db"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)
    log.close()


def kb(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def session(home: Path, monkeypatch, files: Path) -> list:
    """Add, search, list, remove and search again in one data directory; what a user sees."""
    monkeypatch.setenv("KB_HOME", str(home))
    outputs = []
    for name in RULES:
        added = kb("add", str(files / name), "--json")
        assert added.exit_code == 0, added.stderr
        outputs.append(json.loads(added.stdout)["doc_id"])
    for query in ("Do I have to register my drone?", "helmets for children"):
        outputs.append(json.loads(kb("search", query, "--json", "-k", "3").stdout))
    outputs.append([(d["doc_id"], d["passages"]) for d in json.loads(kb("list", "--json").stdout)])
    assert kb("remove", "drone-rules").exit_code == 0
    outputs.append(json.loads(kb("search", "drone registration", "--json").stdout))
    outputs.append(kb("list").output)
    return outputs


@pytest.fixture
def files(tmp_path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, text in RULES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def one_model(embedder, monkeypatch):
    """Every command of a test uses the session's loaded model instead of loading its own."""
    monkeypatch.setattr("kb.embedding.Embedder", lambda settings: embedder)
    monkeypatch.setattr("ingest.pipeline.Embedder", lambda settings: embedder)


def test_cli_on_a_chroma_server_matches_the_embedded_store(settings, files, chroma_server, one_model,
                                                           monkeypatch, tmp_path):
    embedded = session(tmp_path / "embedded", monkeypatch, files)
    monkeypatch.setenv("KB_CHROMA_URL", chroma_server)
    monkeypatch.setenv("KB_COLLECTION", "cli-session")
    served = session(tmp_path / "served", monkeypatch, files)
    # Added files link to their copy inside each data directory; everything else is the same.
    assert str(served).replace("/served/", "/embedded/") == str(embedded)
    assert served[2][0]["doc_id"] == "drone-rules" and "250 grams" in served[2][0]["text"]
    assert all(hit["doc_id"] != "drone-rules" for hit in served[5])
    assert not (tmp_path / "served" / "chroma").exists()  # the vectors live on the server


def test_two_data_directories_on_one_server_need_their_own_collections(settings, files, chroma_server,
                                                                      one_model, monkeypatch, tmp_path):
    monkeypatch.setenv("KB_CHROMA_URL", chroma_server)
    monkeypatch.setenv("KB_COLLECTION", "shared-name")
    monkeypatch.setenv("KB_HOME", str(tmp_path / "team-a"))
    assert kb("add", str(files / "helmets.txt")).exit_code == 0
    monkeypatch.setenv("KB_HOME", str(tmp_path / "team-b"))
    refused = kb("list")
    assert refused.exit_code == 6 and "another data directory" in refused.stderr
    monkeypatch.setenv("KB_COLLECTION", "team-b")
    assert kb("add", str(files / "drones.md")).exit_code == 0
    monkeypatch.setenv("KB_HOME", str(tmp_path / "team-a"))
    monkeypatch.setenv("KB_COLLECTION", "shared-name")
    assert "bicycle-helmets" in kb("list").output and "drone" not in kb("list").output


def test_server_down_is_a_one_line_error(settings, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("KB_HOME", str(settings.home))
    monkeypatch.setenv("KB_CHROMA_URL", url)
    result = kb("search", "drones")
    assert result.exit_code == 6
    assert result.stderr.strip() == (f"Error: cannot reach the Chroma server at {url}: "
                                     "is `chroma run` started?")


def test_the_app_works_unchanged_on_a_chroma_server(chroma_server, embedder, tmp_path, monkeypatch):
    import os

    from streamlit.testing.v1 import AppTest

    import ui.common
    from tests.conftest import REPO, build_store

    for name in [name for name in os.environ if name.startswith("KB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KB_CHROMA_URL", chroma_server)
    monkeypatch.setenv("KB_COLLECTION", "app-on-server")
    home = build_store(tmp_path / "kb-home", embedder)
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.setenv("KB_SOURCES_FILE", str(home / "sources.toml"))
    from kb.api import KnowledgeBase

    open_kb = KnowledgeBase.open.__func__
    monkeypatch.setattr(KnowledgeBase, "open", classmethod(  # the session's model, not a second one
        lambda cls, home=None, **overrides: open_kb(cls, home, **{"embedder": embedder, **overrides})))
    ui.common._open_kb.clear()
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
        next(box for box in at.selectbox if box.label == "Written by").set_value("extractive").run()
        at.chat_input[0].set_value("Do I have to register my drone before flying?").run(timeout=120)
        assert not at.exception and not at.error
        assert any("250 grams" in m.value and ":orange-background[" in m.value for m in at.markdown)
        at.switch_page("ui/search.py").run()
        at.text_input[1].set_value("helmets for children").run()
        assert not at.exception and not at.error
        assert any("under twelve" in m.value for m in at.markdown)
        import chromadb

        server = chromadb.HttpClient(host="127.0.0.1", port=int(chroma_server.rsplit(":", 1)[1]))
        assert server.get_collection("app-on-server").count() > 0  # the vectors live on the server
        assert not (home / "chroma").exists()
    finally:
        ui.common._open_kb.clear()
