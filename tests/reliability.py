"""Helpers for the reliability tests: small documents, a real `kb` in a subprocess, doctor's verdict."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Three small documents of a few passages each; every passage names its document and version.
TOPICS = {
    "drones.md": ("Drone rules", ["Every drone heavier than 250 grams must be registered before its "
                                  "first flight", "Flying at night requires a green flashing light",
                                  "Drones must keep 150 metres away from crowds"]),
    "lifts.md": ("Lift safety", ["Lifts must be inspected every six months",
                                 "Each lift shows its capacity in kilograms",
                                 "An alarm button must connect to a staffed service"]),
    "helmets.md": ("Helmet notes", ["Children under twelve must wear a helmet when cycling on "
                                    "public roads", "Adults are advised to wear a helmet too",
                                    "Helmets must be replaced after a crash"]),
}
# Enough words per section that each section is a passage of its own.
FILLER = ("This rule applies in every municipality and is enforced by the competent authority, "
          "which may inspect records, hear complaints and impose proportionate fines. ") * 4


def document_text(name: str, version: str) -> str:
    """The Markdown of one small document, every passage marked with `version`."""
    title, rules = TOPICS[name]
    sections = [f"## Section {n}\n\n{rule} ({title.lower()} {version}). {FILLER}"
                for n, rule in enumerate(rules, start=1)]
    return f"# {title} {version}\n\n" + "\n\n".join(sections) + "\n"


def write_documents(folder: Path, version: str = "alpha") -> list[Path]:
    """Write the small documents, each marked with `version`, and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TOPICS:
        path = folder / name
        path.write_text(document_text(name, version), encoding="utf-8")
        paths.append(path)
    return paths


def kb_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `kb` subprocess using `home` and this worktree's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_HOME=str(home), PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", **extra)
    return env


def kb_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kb", *args]


def run_kb(home: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run `kb` to completion in a subprocess."""
    return subprocess.run(kb_command(*args), cwd=REPO, env=kb_env(home, **env), capture_output=True,
                          text=True, timeout=timeout)


def doctor(home: Path, *args: str) -> tuple[int, dict]:
    """Exit code and JSON report of `kb doctor`."""
    result = run_kb(home, "doctor", "--json", *args)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def write_mirror(folder: Path, version: str) -> Path:
    """An offline mirror of the small documents (marked `version`) and a registry naming them;
    returns the registry file (for KB_SOURCES_FILE)."""
    manifest, registry = [], []
    for path in write_documents(folder, version):
        doc_id, url = path.stem, f"https://example.org/{path.stem}"
        manifest.append({"id": doc_id, "canonical_url": url, "file": path.name,
                         "media_type": "text/markdown",
                         "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        registry.append(f'[[document]]\nid = "{doc_id}"\ntitle = "{TOPICS[path.name][0]}"\n'
                        f'canonical_url = "{url}"\n')
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    sources = folder / "sources.toml"
    sources.write_text("\n".join(registry), encoding="utf-8")
    return sources


def live_passages(home: Path) -> set[tuple[str, str, str]]:
    """(vector id, locator, text) of every live passage in a data directory's catalogue."""
    with sqlite3.connect(home / "catalogue.sqlite3") as db:
        rows = db.execute("""SELECT p.vector_id, p.locator, p.text FROM passages p JOIN documents d
                             ON d.doc_id = p.doc_id AND d.version = p.version""").fetchall()
    return set(rows)
