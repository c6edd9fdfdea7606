"""Hostile documents: 100,000 nested elements, a 20 MB line, an encrypted PDF, a PDF bomb, random
bytes. Each is parsed or refused with our ParseError, within a time and memory bound measured in
a fresh process, and a refused `kb add` leaves the store as it was."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import zlib

import pymupdf
import pytest

from ingest.pipeline import Pipeline, add_document
from kb.errors import KbError, ParseError
from kb.store import Store
from tests.reliability import REPO, write_documents

TIME_LIMIT = 30.0  # seconds per document
MEMORY_LIMIT_MB = 1024  # peak resident memory of the process parsing all of them
NESTED = b"<html><body>" + b"<div>" * 100_000 + b"deep text" + b"</div>" * 100_000 + b"</body></html>"
LINE = b"word " * 4_000_000  # 20 MB without a line break


def encrypted_pdf() -> bytes:
    with pymupdf.open() as document:
        document.new_page().insert_text((72, 72), "Article 1\nOnly for those with the password.")
        return document.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")


def pdf_bomb(inflated: int = 2**30) -> bytes:
    """A one-page PDF whose content stream is ~1 MB compressed and 1 GB inflated."""
    deflate, spaces = zlib.compressobj(1), b" " * 2**20
    stream = b"".join(deflate.compress(spaces) for _ in range(inflated // len(spaces))) + deflate.flush()
    with pymupdf.open() as document:
        page = document.new_page()
        page.insert_text((72, 72), "Article 1")
        xref = page.get_contents()[0]
        document.update_stream(xref, stream, compress=False)
        document.xref_set_key(xref, "Filter", "/FlateDecode")
        return document.tobytes()


CASES = {  # name: (bytes builder, parser hint, media type, the refusal expected or None)
    "nested-divs-html": (lambda: NESTED, "html", "text/html", None),
    "nested-divs-eurlex": (lambda: NESTED, "eurlex", "text/html", None),
    "nested-divs-markdown": (lambda: NESTED, "markdown", "text/markdown", None),
    "nested-quotes-markdown": (lambda: b"> " * 100_000 + b"deep text\n", "markdown", "text/markdown", None),
    "long-line-text": (lambda: LINE, "text", "text/plain", None),
    "long-line-markdown": (lambda: LINE, "markdown", "text/markdown", None),
    "long-line-html": (lambda: b"<html><body><p>" + LINE + b"</p></body></html>", "html", "text/html", None),
    "encrypted-pdf": (encrypted_pdf, "", "application/pdf", "the PDF is encrypted"),
    "pdf-bomb": (pdf_bomb, "", "application/pdf", "inflates to more than"),
    "random-bytes": (lambda: os.urandom(1_000_000), "", "application/octet-stream", None),
}


def worker() -> None:
    """Parse every case in this (fresh) process; print one JSON line per case, then the peak memory."""
    from ingest.parse import parse
    from tests.conftest import make_fetched

    for name, (build, hint, media_type, _) in CASES.items():
        data = build()
        started = time.perf_counter()
        try:
            parse(make_fetched(data, content_type=media_type), hint=hint)
            outcome = "parsed"
        except ParseError as error:
            outcome = f"ParseError: {error}"
        except BaseException as error:
            outcome = f"{type(error).__name__}: {error}"
        print(json.dumps({"case": name, "outcome": outcome[:300], "seconds": time.perf_counter() - started}),
              flush=True)
        del data
    print(json.dumps({"peak_mb": peak_resident_mb()}), flush=True)


def peak_resident_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: it keeps the high-water mark of the
    process that started us across exec (pytest, with the model loaded, at 1.3 GB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


@pytest.mark.subprocess
def test_hostile_documents_are_parsed_or_refused_within_time_and_memory():
    result = subprocess.run([sys.executable, "-c", "from tests.test_hostile_input import worker; worker()"],
                            cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(lines) == len(CASES) + 1, result.stderr[-2000:]
    for line in lines[:-1]:
        refusal = CASES[line["case"]][3]
        assert line["outcome"] == "parsed" or line["outcome"].startswith("ParseError: "), line
        if refusal:
            assert refusal in line["outcome"], line
        assert line["seconds"] < TIME_LIMIT, line
    assert lines[-1]["peak_mb"] < MEMORY_LIMIT_MB


@pytest.mark.parametrize("case", ["encrypted-pdf", pytest.param("pdf-bomb", marks=pytest.mark.slow), "random-bytes"])
def test_a_refused_add_leaves_the_store_as_it_was(case, settings, embedder, tmp_path):
    store = Store(settings)
    pipeline = Pipeline(settings, store, embedder=embedder)
    add_document(pipeline, str(write_documents(tmp_path / "docs")[0]))
    before = (store.catalogue.documents(), store.catalogue.user_sources(), store.vector_count(),
              store.keyword.built_generation(), sorted(settings.user_files_dir.iterdir()))
    hostile = tmp_path / f"{case}.pdf"
    hostile.write_bytes(CASES[case][0]())
    with pytest.raises(KbError):
        add_document(pipeline, str(hostile))
    after = (store.catalogue.documents(), store.catalogue.user_sources(), store.vector_count(),
             store.keyword.built_generation(), sorted(settings.user_files_dir.iterdir()))
    assert after == before
