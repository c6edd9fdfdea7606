"""The `kb` command line: ingest, add, list, show, remove and search the policy knowledge base."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from kb.api import (
    BACKENDS,
    DIAGNOSIS_DEPTH,
    PARSERS,
    HitContext,
    KnowledgeBase,
    SearchFilters,
    checked_date,
    checked_question,
)
from kb.batch import FORMATS
from kb.errors import KbError, UsageError

EXAMPLES = """
\b
Examples:
  kb ingest --mirror ../shared/corpus      index the default corpus from an offline mirror
  kb search "Can my employer use emotion recognition at work?"
  kb ask "Which AI practices are banned in the EU?"      a cited answer
  kb show eu-ai-act "Article 5"            read a provision
  kb add ./guidance.pdf --title "National AI guidance" --jurisdiction FR
  kb list --json                           the documents and their passage counts, for scripts
"""


class KbGroup(click.Group):
    """Turns every KbError into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KbError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=KbGroup, epilog=EXAMPLES)
@click.option("--home", type=click.Path(file_okay=False), envvar="KB_HOME",
              help="Data directory (default: the user data dir; env KB_HOME).")
@click.version_option(package_name="policy-kb")
@click.pass_context
def cli(ctx, home):
    """policy-kb: AI policy and regulation you can search and cite.

    Every passage keeps its locator ("Article 5(1)(f)", "Recital 44", "page 12") and a link that
    opens the official text at that place. Settings come from KB_* environment variables
    (KB_HOME, KB_MIRROR, KB_MAX_BYTES, ...) or <KB_HOME>/config.toml.
    """
    ctx.obj = {"home": home}


def open_kb(ctx, **overrides) -> KnowledgeBase:
    """The knowledge base of this command, with the group's --home applied."""
    return KnowledgeBase.open(ctx.obj.get("home"), **overrides)


def print_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# ingest ------------------------------------------------------------------------------------------

@cli.command()
@click.option("--mirror", type=click.Path(exists=True, file_okay=False),
              help="Read documents from this offline mirror (a folder with manifest.json) "
                   "instead of the network. Env KB_MIRROR.")
@click.option("--only", "only", multiple=True, metavar="ID",
              help="Ingest only this document id (repeatable).")
@click.option("--force", is_flag=True, help="Re-ingest even documents that did not change.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report instead of a summary.")
@click.pass_context
def ingest(ctx, mirror, only, force, as_json):
    """Fetch, parse and index the default corpus and every document added with `kb add`.

    Unchanged documents (same bytes, same settings) are skipped, so a second run does no work.
    A document that fails is reported and keeps its previous version; the others go on. With a
    mirror, registry documents the mirror lacks are skipped with a notice.
    """
    from kb.progress import IngestProgress

    with open_kb(ctx, mirror=mirror) as kb, IngestProgress(enabled=not as_json) as progress:
        report = kb.ingest(only, force=force, on_event=progress.handle)
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(report.summary())  # each document's line was shown as it finished
    if report.failed:
        sys.exit(1)


# add / remove ------------------------------------------------------------------------------------

@cli.command()
@click.argument("target")
@click.option("--id", "doc_id", help="Document id (default: made from the title).")
@click.option("--title", help="Title (default: the one in the document, else the file name).")
@click.option("--issuer", default="", help='Who issued it, e.g. "European Commission".')
@click.option("--jurisdiction", default="", help='e.g. "EU", "US", "international".')
@click.option("--doc-type", default="", help='e.g. "regulation", "guidance", "web_page".')
@click.option("--date", default="", help="Date of the text, YYYY-MM-DD.")
@click.option("--url", default="", help="Official URL to link passages to (for a local file).")
@click.option("--parser", type=click.Choice(PARSERS),
              help="Force a parser instead of detecting the format.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def add(ctx, target, doc_id, title, issuer, jurisdiction, doc_type, date, url, parser, as_json):
    """Add a document from a URL (http/https) or a local file (PDF, HTML, Markdown, text).

    The file is copied into the data directory and re-ingested with the rest by `kb ingest`.
    If anything fails, nothing is added.
    """
    check_date(date)
    with open_kb(ctx) as kb:
        result = kb.add(target, doc_id=doc_id or "", title=title or "", issuer=issuer,
                        jurisdiction=jurisdiction, doc_type=doc_type, date=date, url=url,
                        parser=parser or "")
    if as_json:
        print_json(asdict(result))
    else:
        click.echo(result.summary())


def check_date(date: str) -> None:
    import datetime

    if date:
        try:
            datetime.date.fromisoformat(date)
        except ValueError as exc:
            raise UsageError(f"--date must be YYYY-MM-DD, not '{date}'") from exc


@cli.command()
@click.argument("doc_id")
@click.pass_context
def remove(ctx, doc_id):
    """Remove a document and its passages from the knowledge base."""
    with open_kb(ctx) as kb:
        click.echo(kb.remove(doc_id))


# doctor ------------------------------------------------------------------------------------------

@cli.command()
@click.option("--repair", is_flag=True,
              help="Delete orphan vectors, re-embed missing ones, rebuild the keyword index.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.pass_context
def doctor(ctx, repair, as_json):
    """Check that the catalogue, the vector store and the keyword index agree.

    Prints one line per problem found (and repaired, with --repair). Exit code 0 when the
    knowledge base is healthy, 1 when problems remain.
    """
    with open_kb(ctx) as kb:
        health = kb.doctor(repair=repair)
    if as_json:
        print_json(health.to_json())
    else:
        click.echo("\n".join(health.lines()))
    if not health.healthy:
        sys.exit(1)


# list / show -------------------------------------------------------------------------------------

@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (one object per document).")
@click.pass_context
def list_documents(ctx, as_json):
    """List the indexed documents with their metadata and passage counts."""
    with open_kb(ctx) as kb:
        documents = kb.documents()
    if as_json:
        print_json([doc.to_json() for doc in documents])
        return
    if not documents:
        click.echo("No documents yet. Run `kb ingest` (add --mirror DIR when offline).")
        return
    width = max(len(doc.doc_id) for doc in documents)
    click.echo(f"{'ID':<{width}}  {'PASSAGES':>8}  {'JURISD.':<13}  {'DATE':<10}  TITLE")
    for doc in documents:
        title = doc.title if len(doc.title) <= 70 else doc.title[:69] + "…"
        status = f"  [{doc.status_label}]" if doc.status_label else ""
        click.echo(f"{doc.doc_id:<{width}}  {doc.passages:>8}  {doc.jurisdiction:<13}  "
                   f"{doc.date:<10}  {title}{status}")


@cli.command()
@click.argument("doc_id")
@click.argument("locator", required=False)
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD",
              help="With LOCATOR: whether the provision applies on this date (default today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show(ctx, doc_id, locator, as_of, as_json):
    """Show a document's outline, or the passages at LOCATOR ("Article 5", "Recital 12", "page 3").

    A locator includes everything inside it: "Article 5" shows Article 5(1)(a) to 5(8). Under
    each passage: since when it applies, the defined terms it uses (with their definition's
    link), what it refers to and what refers to it; --json gives these as "facts".
    """
    as_of = checked_date(as_of)
    with open_kb(ctx) as kb:
        passages = kb.passages(doc_id, locator or "")
        document = kb.document(doc_id)
        facts = [kb.facts_of(p, as_of=as_of) for p in passages] if locator else []
    if locator:
        if as_json:
            print_json([{**p.to_dict(), "facts": f.to_json()} for p, f in zip(passages, facts, strict=True)])
            return
        if passages:
            show_status_note(passages[0])
        for passage, found in zip(passages, facts, strict=True):
            click.secho(f"{passage.locator}  {passage.url}", bold=True)
            click.echo(passage.text)
            show_passage_facts(found)
            click.echo("")
        return
    if as_json:
        print_json({**document.to_json(), "locators": list(dict.fromkeys(p.locator for p in passages))})
        return
    click.secho(document.title, bold=True)
    if document.status_label:
        click.secho(f"{document.status_label}: {document.status_note}", fg="yellow")
    click.echo(f"{document.canonical_url}\n{document.passages} passages; "
               f"fetched {document.fetched_at} ({document.fetched_from}), sha256 {document.sha256[:12]}…")
    click.echo(", ".join(dict.fromkeys(p.locator for p in passages)))


def show_passage_facts(facts) -> None:
    """A passage's date of application, defined terms and references, one line each, indented."""
    if facts.applies_from or facts.status:
        when = f"applies from {facts.applies_from} ({facts.applies_from_basis})" if facts.applies_from else ""
        click.secho(f"  {facts.status or 'status unknown'} on {facts.as_of}" + (f"; {when}" if when else ""),
                    fg="yellow" if facts.status != "applies" else None)
    for title, links in (("defined terms", facts.definitions), ("refers to", facts.refers_to),
                         ("referred to by", facts.referred_by)):
        if links:
            click.secho(f"  {title}:", dim=True)
        for link in links:
            # What refers here is named by its own place; a term or a reference by its words.
            where = link.locator if link.locator and link.locator != link.label else ""
            shown = link.locator if title == "referred to by" else f"{link.label} ({where})" if where else link.label
            click.echo(f"    {shown}  {link.url or '(not in the knowledge base)'}")


# search ------------------------------------------------------------------------------------------

def filter_options(command):
    """The document filters shared by search, eval and ask."""
    options = [
        click.option("--doc", "doc_ids", multiple=True, metavar="ID",
                     help="Only this document (repeatable)."),
        click.option("--jurisdiction", default="", help='Only documents of this jurisdiction ("EU", "US", ...).'),
        click.option("--issuer", default="", help="Only documents whose issuer contains this text."),
        click.option("--doc-type", default="", help='Only this type ("regulation", "framework", ...).'),
        click.option("--since", default="", metavar="YYYY-MM-DD", help="Only documents dated on or after."),
        click.option("--until", default="", metavar="YYYY-MM-DD", help="Only documents dated on or before."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_filters(doc_ids, jurisdiction, issuer, doc_type, since, until) -> SearchFilters:
    return SearchFilters(doc_ids=tuple(doc_ids), jurisdiction=jurisdiction, issuer=issuer,
                         doc_type=doc_type, since=since, until=until)


def batch_options(command):
    """--batch FILE and --format, shared by search and ask."""
    command = click.option("--format", "output_format", type=click.Choice(FORMATS), default="jsonl",
                           show_default=True,
                           help="With --batch: JSON lines, a Markdown report or a CSV table.")(command)
    return click.option("--batch", "batch_file", type=click.Path(exists=True, dir_okay=False),
                        help="Answer every question of FILE (one per line, or JSON lines with "
                             '"id" and "question") in one go.')(command)


def batch_questions(single: str | None, batch_file: str | None, output_format: str, what: str):
    """The batch's questions (read and checked now), or None for a single question."""
    from pathlib import Path

    from kb.batch import read_questions

    if batch_file and single:
        raise UsageError(f"give either a {what} or --batch FILE, not both")
    if not batch_file:
        if output_format != "jsonl":
            raise UsageError("--format applies to --batch only (use --json for one question)")
        if single is None:
            raise UsageError(f"give a {what}, or --batch FILE")
        return None
    return read_questions(Path(batch_file))


def print_batch(records, kind: str, output_format: str) -> None:
    """JSON lines as each question is done (a long batch that fails late keeps what it did);
    a report once all are."""
    from kb.batch import formatted

    if output_format == "jsonl":
        for record in records:
            click.echo(formatted([record], kind, output_format), nl=False)
        return
    click.echo(formatted(list(records), kind, output_format), nl=False)


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "k", default=5, show_default=True, help="How many passages to return.")
@click.option("--max-per-doc", default=0, help="At most this many hits per document (0: no cap).")
@filter_options
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of hits: rank, score, passage_id, doc_id, title, locator, url, text, "
                   "the document's status, status_date, status_note, replaced_by, and the hit's context: "
                   "definitions (in its document, of the defined terms the query uses) and refers_to "
                   "(the provisions it points to), each {label, locator, url, passage_id}.")
@batch_options
@click.pass_context
def search(ctx, query, k, max_per_doc, doc_ids, jurisdiction, issuer, doc_type, since, until, as_json,
           batch_file, output_format):
    """Find the passages that answer QUERY, best first, each with its locator and link.

    QUERY can be a question in everyday words or name a provision ("Art. 22 GDPR",
    "Recital 47", "Annex III point 4"): a named provision comes first. With --batch FILE, every
    question of the file is searched in one process and each one's hits printed as a JSON line
    (or a report, with --format md|csv).
    """
    from kb.batch import run

    questions = batch_questions(query, batch_file, output_format, "query")
    filters = make_filters(doc_ids, jurisdiction, issuer, doc_type, since, until)
    if questions is not None:
        with open_kb(ctx) as kb:
            def search_one(text: str) -> dict:
                found = kb.search(text, k=k, max_per_doc=max_per_doc, filters=filters)
                return {"no_good_match": found.no_good_match, "hits": [hit.to_json() for hit in found.hits]}

            print_batch(run(questions, search_one), "search", output_format)
        return
    if not query.strip():  # before the model loads
        raise UsageError("the search query is empty; ask a question or name a provision")
    with open_kb(ctx) as kb:
        results = kb.search(query, k=k, max_per_doc=max_per_doc, filters=filters)
        context = kb.search_context(query, results.hits)
    if as_json:
        print_json([{**hit.to_json(), **around.to_json()} for hit, around in zip(results.hits, context, strict=True)])
        return
    if not results.hits:
        click.echo("No passages found. Run `kb ingest` first, or loosen the filters.")
    elif results.no_good_match:
        click.secho("No passage matches this well; the nearest ones are:", fg="yellow", err=True)
    for hit, around in zip(results.hits, context, strict=True):
        p = hit.passage
        click.secho(f"{hit.rank}. {p.locator} — {p.metadata.get('title') or p.title}", bold=True)
        show_status_note(p, indent="   ")
        click.echo(f"   score {hit.score:.3f}  {p.url}")
        text = p.text if len(p.text) <= 400 else p.text[:399] + "…"
        click.echo("   " + text.replace("\n", "\n   "))
        show_context(around)
        click.echo()


def show_context(around: HitContext) -> None:
    """The definitions of the question's terms in a hit's document, and what the hit refers to."""
    for title, links in (("defined", around.definitions), ("refers to", around.refers_to)):
        if links:
            shown = "; ".join(f"{link.label} ({link.locator})" if link.locator and link.locator != link.label
                              else link.label for link in links[:6])
            more = f" and {len(links) - 6} more" if len(links) > 6 else ""
            click.secho(f"   {title}: {shown}{more}", dim=True)


@cli.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--sweep", is_flag=True,
              help="Try fusion weights on these questions and print the best found and its gain.")
@click.option("--write", is_flag=True,
              help="With --sweep: save the best weights in this data directory's config.toml.")
@click.pass_context
def evaluate(ctx, questions, doc_ids, jurisdiction, issuer, doc_type, since, until, as_json, sweep, write):
    """Measure retrieval on a question file (JSON lines with gold doc_id and locators).

    Prints recall@1/5/10, MRR@10, how often unanswerable questions are flagged "no good match",
    search latency (p50/p95, warm) and every question whose gold passage is not in the top 5,
    with where that passage sits in the meaning and keyword rankings before fusion: high in one
    of them means fusion lost it; low in both means neither the words nor the encoder connect
    the question to it.
    """
    from pathlib import Path

    filters = make_filters(doc_ids, jurisdiction, issuer, doc_type, since, until)
    with open_kb(ctx) as kb:
        if sweep or write:
            click.echo(kb.sweep_fusion(Path(questions), filters, as_json=as_json, write=write))
            return
        report = kb.evaluate(Path(questions), filters)
    if as_json:
        print_json(asdict(report))
        return
    click.echo(f"{report.answerable} answerable and {report.unanswerable} unanswerable questions")
    click.echo(f"recall@1 {report.recall_at_1:.3f}   recall@5 {report.recall_at_5:.3f}   "
               f"recall@10 {report.recall_at_10:.3f}   MRR@10 {report.mrr_at_10:.3f}")
    click.echo(f"no good match: {report.unanswerable_flagged:.0%} of unanswerable flagged, "
               f"{report.answerable_flagged:.0%} of answerable wrongly flagged")
    click.echo(f"search latency: p50 {report.latency_p50_ms:.0f} ms, p95 {report.latency_p95_ms:.0f} ms; "
               f"longest hit {report.longest_hit_chars} characters")
    for miss in report.misses:
        where = f"rank {miss['rank']}" if miss["rank"] else "not in top 10"
        click.echo(f"  miss {miss['id']} ({where}): {miss['question']}\n"
                   f"       gold {miss['gold']}; first {miss['first']}\n"
                   f"       gold passage before fusion: meaning {rank_text(miss['meaning_rank'])}"
                   f"{similarity_text(miss['gold_similarity'])}, keywords {rank_text(miss['keyword_rank'])}")


def rank_text(rank: int | None) -> str:
    """"rank 4", or how far down the passage was looked for in vain."""
    return f"rank {rank}" if rank else f"not in the first {DIAGNOSIS_DEPTH}"


def similarity_text(value: float | None) -> str:
    return f" (similarity {value:.2f})" if value is not None else ""


# ask ---------------------------------------------------------------------------------------------

@cli.command()
@click.argument("question", required=False)
@click.option("--backend", type=click.Choice(BACKENDS),
              help="Who writes the answer (default: KB_LLM_BACKEND, else llama-cpp): the packaged "
                   "local model, an OpenAI-compatible server (KB_LLM_BASE_URL, KB_LLM_MODEL), or "
                   "no model (quotes from the passages).")
@click.option("-k", "k", type=click.IntRange(1, 20), help="Passages to retrieve (default: KB_ANSWER_K, 5).")
@filter_options
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD",
              help="State the law as of this date (default today): a cited provision that applies "
                   "only later is flagged with its date.")
@click.option("--json", "as_json", is_flag=True,
              help="Print {question, answer, mode, citations (with applies_from, status), definitions, "
                   "related, dropped_sentences, timings_ms} as JSON.")
@batch_options
@click.pass_context
def ask(ctx, question, backend, k, doc_ids, jurisdiction, issuer, doc_type, since, until, as_of, as_json,
        batch_file, output_format):
    """Answer QUESTION from the knowledge base, every sentence citing its passage.

    The answer streams as it is written. Each sentence the model writes is checked against the
    passage it cites and dropped if that passage does not say so; if nothing survives, the
    answer quotes the passages instead (mode "extractive"). When the corpus does not cover the
    question, the answer says so (mode "abstained") and lists the nearest passages. With --batch
    FILE, every question of the file is answered in one process, one JSON line each (or a report,
    with --format md|csv).
    """
    from kb.batch import with_progress

    questions = batch_questions(question, batch_file, output_format, "question")
    as_of = checked_date(as_of)
    filters = make_filters(doc_ids, jurisdiction, issuer, doc_type, since, until)
    if questions is not None:
        with open_kb(ctx) as kb:
            answered = kb.ask_batch(questions, backend=backend, k=k, filters=filters, as_of=as_of)
            print_batch(with_progress(answered, len(questions)), "ask", output_format)
        return
    question = checked_question(question)  # before anything is opened or loaded
    with open_kb(ctx) as kb:
        stream = kb.ask_stream(question, backend=backend, k=k, filters=filters, as_of=as_of)
        for piece in stream:
            if not as_json:
                click.echo(piece, nl=False)
    answer = stream.answer
    if as_json:
        print_json(answer.to_json())
        return
    click.echo("")
    show_answer_sources(answer)


def show_status_note(passage, indent: str = "") -> None:
    """A revoked or replaced document's note, in yellow, wherever one of its passages is shown."""
    if passage.status_label:
        note = passage.metadata.get("status_note", "")
        click.secho(f"{indent}{passage.status_label}" + (f": {note}" if note else ""), fg="yellow")


def show_answer_sources(answer) -> None:
    """The citations, what was dropped, and the mode, under a streamed answer."""
    for citation in answer.citations:
        click.secho(f"\n[{citation.n}] {citation.reference()}", bold=True)
        show_status_note(citation.passage, indent="    ")
        click.echo(f"    {citation.passage.url}")
        click.echo(f"    “{citation.quote}”")
        if citation.applies_from or citation.status:
            click.echo(f"    {citation.status or 'applies'}; applies from {citation.applies_from or '?'}"
                       f" ({citation.applies_from_basis or 'date unknown'})")
    for title, extra in (("definitions", answer.definitions), ("related", answer.related)):
        if extra:
            click.secho(f"\n{title}:", bold=True)
        for citation in extra:
            gist = " ".join(citation.quote.split()[:12])
            click.echo(f"  {citation.reference()}: “{gist} …”\n      {citation.passage.url}")
    for hit in answer.see_also:
        click.echo(f"  see also: {hit.passage.locator} — {hit.passage.title}\n            {hit.passage.url}")
    if answer.dropped_sentences:
        click.secho(f"\n{len(answer.dropped_sentences)} sentence(s) dropped: no cited passage supports them "
                    "(--json shows them).", dim=True, err=True)
    timings = answer.timings_ms
    click.secho(f"mode: {answer.mode}, backend {answer.backend}; {timings.get('total', 0) / 1000:.1f} s",
                dim=True, err=True)


def main() -> None:
    cli(prog_name="kb")


if __name__ == "__main__":
    main()
