"""Settings: one typed object, read from `KB_*` environment variables and an optional TOML file.

This is the only module that reads the environment. Precedence: explicit arguments, then `KB_*`
variables, then the TOML file (`KB_CONFIG`, default `<KB_HOME>/config.toml`), then defaults.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kb.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    return Path(user_data_dir("policy-kb", appauthor=False))


class Settings(BaseSettings):
    """Every knob a user may need to turn, with defaults that work offline on a laptop."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data directory (KB_HOME).")
    sources_file: Path = Field(
        default=PROJECT_ROOT / "corpus" / "sources.toml",
        description="Registry of the default corpus.",
    )
    mirror: Path | None = Field(
        default=None, description="Offline mirror folder (manifest.json keyed by canonical_url)."
    )

    # Fetching
    http_timeout: float = Field(default=30.0, gt=0, description="Seconds per HTTP request.")
    http_retries: int = Field(default=3, ge=0, description="Retries on 5xx, 429 and network errors.")
    http_backoff: float = Field(default=1.0, ge=0, description="First retry delay in seconds; doubles.")
    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0, description="Largest document accepted.")
    user_agent: str = Field(
        default="policy-kb/0.1 (+https://github.com/policy-kb/policy-kb; AI policy knowledge base)"
    )
    respect_robots: bool = True
    allow_private_addresses: bool = Field(
        default=False,
        description="Fetch from loopback, private and link-local addresses too (tests, trusted networks).")

    # The app
    admin_token: SecretStr = Field(
        default=SecretStr(""),
        description="Password for corpus changes in the app when it listens beyond localhost.")

    # Embedding and chunking
    embed_backend: str = Field(
        default="sentence-transformers", pattern="^(sentence-transformers|hash)$",
        description="Who embeds: sentence-transformers (the model in KB_EMBED_MODEL), or hash "
                    "(deterministic word hashing, no meaning: the fast test tier only).")
    embed_model: str = Field(default="", description="Sentence-transformers model folder; '' = packaged MiniLM.")
    embed_batch_size: int = Field(default=32, gt=0)
    max_passage_tokens: int = Field(
        default=200, gt=16, le=256,
        description="Word pieces of passage text; the encoder truncates at 256, leaving room for context.",
    )
    collection: str = Field(
        default="passages",
        description="Chroma collection name; each data directory sharing one Chroma server needs its own.")
    chroma_url: str = Field(
        default="", description="A Chroma server (http://host:port, from `chroma run`); '' = the "
                                "embedded store under KB_HOME.")
    hnsw_ef_search: int = Field(
        default=200, gt=0,
        description="HNSW search breadth: higher is closer to exact (Chroma's 100 left the tail of "
                    "50 candidates varying between runs).")

    # Retrieval
    dense_weight: float = Field(default=1.0, ge=0, description="Weight of meaning (embedding) ranks in fusion.")
    keyword_weight: float = Field(default=0.7, ge=0, description="Weight of keyword (BM25) ranks in fusion.")
    rrf_k: int = Field(default=10, gt=0, description="Reciprocal rank fusion constant (smaller: top ranks count more).")
    candidates: int = Field(default=50, gt=0, description="Candidates taken from each retriever before fusion.")
    rerank_weight: float = Field(
        default=2.0, ge=0,
        description="How far keyword scores re-order the best fused candidates, times the share of "
                    "the top agreement_depth passages both rankings hold (0: fused ranks only).")
    rerank_length_weight: float = Field(
        default=0.25, ge=0,
        description="Added to that re-ranking weight for long queries, in full from rerank_full_length "
                    "content words (growing with the square of the share below it).")
    rerank_full_length: int = Field(default=20, gt=0, description="Content words of a query that count as long.")
    rerank_candidates: int = Field(default=30, gt=0, description="Fused candidates re-ranked by keyword score.")
    clause_citation_weight: float = Field(
        default=1.3, ge=0,
        description="When a query names a numbered clause (\"Rule 6.2.1\"), the scores of passages "
                    "whose text cites it are multiplied by this (1: no preference).")
    agreement_depth: int = Field(
        default=10, gt=0, description="Top passages of each ranking compared to measure their agreement.")
    other_document_weight: float = Field(
        default=0.5, ge=0, le=1,
        description="When a query names documents (GDPR, NIST, OECD...), the scores of other "
                    "documents' passages are multiplied by this (1: no preference).")
    name_meaning_weight: float = Field(
        default=1.0, ge=0, le=1,
        description="When a query names documents, the meaning searched is this share of the query's "
                    "embedding plus the rest of the query's without the names (1: the query as it is). "
                    "0.5 raised MRR@10 on both halves of our questions but put the AI Act's definition "
                    "above the OECD's for \"How does the OECD define an AI system?\"; so it is off.")
    no_match_similarity: float = Field(
        default=0.35, ge=-1, le=1,
        description="Below this best meaning similarity a search reports 'no good match'.")
    recital_link_min_similarity: float = Field(
        default=0.6, ge=0, le=1,
        description="A recital is linked to the provision it explains when their similarity reaches this.")
    recital_link_weight: float = Field(
        default=1.1, ge=0, le=2,
        description="A provision reached through a matching recital scores this share of the recital's "
                    "fused score (above 1: the binding provision comes before the recital explaining it).")
    citation_link_weight: float = Field(
        default=1.1, ge=0, le=2,
        description="A provision of another document cited by one of the best candidates (guidance "
                    "citing the act) scores at least this share of the citing passage's score (0: off).")
    citation_link_candidates: int = Field(
        default=10, ge=0, description="Best fused candidates whose citations of other documents are followed.")
    citation_link_max_targets: int = Field(
        default=3, ge=1,
        description="A passage citing more places than this is a list; its citations are not followed.")
    heading_links: bool = Field(
        default=True, description="Also follow the provision a candidate's section heading names "
                                  "(\"3. ARTICLE 5(1)(A) AI ACT\"), with citation_link_weight.")
    document_evidence_weight: float = Field(
        default=0.2, ge=0, le=2,
        description="Each candidate's score is multiplied by 1 + this x its document's share of the "
                    "best document_evidence_depth candidates' scores (0: no document-level evidence). "
                    "0.2 raised both halves of our questions and left ObliQA's 1,000-question sample "
                    "unchanged (MAP@10 0.621 either way).")
    document_evidence_depth: int = Field(
        default=10, gt=0, description="Best candidates whose documents count as evidence.")
    aside_weight: float = Field(
        default=0.5, ge=0, le=1,
        description="Footnotes and bibliography entries score this share of their fused score (1: no change).")
    aside_candidates: int = Field(
        default=30, gt=0, description="Best fused candidates checked for footnotes and bibliography entries.")

    # Answers
    llm_backend: str = Field(
        default="llama-cpp", pattern="^(llama-cpp|openai|extractive)$",
        description="Who writes answers: llama-cpp (in-process GGUF), openai (any OpenAI-compatible "
                    "server), extractive (no model; quotes the passages).")
    llm_model_path: str = Field(default="", description="GGUF file for llama-cpp; '' = packaged Gemma 3 270M.")
    llm_base_url: str = Field(default="", description="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1.")
    llm_model: str = Field(default="", description="Model name on that server, e.g. qwen2.5:7b-instruct.")
    llm_api_key: str = Field(default="", description="API key for that server, if it needs one.")
    llm_chat: bool = Field(default=False, description="Talk to the server through chat (instruction models).")
    llm_timeout: float = Field(default=120.0, gt=0, description="Seconds to wait for the model server.")
    llm_max_tokens: int = Field(default=160, gt=0, description="Longest generated answer, in model tokens.")
    llm_temperature: float = Field(default=0.0, ge=0, description="0: the same answer every time.")
    llm_context: int = Field(default=2048, ge=512, description="Model context window, in tokens.")
    llm_threads: int = Field(default=0, ge=0, description="CPU threads for llama-cpp; 0 = all cores.")
    answer_k: int = Field(default=5, ge=1, le=20, description="Passages retrieved for an answer.")
    batch_max_questions: int = Field(
        default=100, gt=0, description="Most questions the app answers from one uploaded file "
                                       "(`kb ask --batch` takes any number).")
    answer_passages: int = Field(
        default=3, ge=1, le=10,
        description="Passages shown to the model (the best answer_k); fewer = faster first token.")
    passage_tokens_for_model: int = Field(
        default=90, ge=20,
        description="Each passage is cut to its sentences nearest the question, about this many words.")
    # Calibrated by bench/calibrate_support.py: the pair that rejects >= 95 % of wrong citations.
    support_overlap: float = Field(
        default=0.6, ge=0, le=1,
        description="Share of a sentence's content words that its cited passage must contain.")
    support_similarity: float = Field(
        default=0.6, ge=-1, le=1,
        description="Meaning similarity a sentence must reach with a sentence of its cited passage.")
    name_mention_similarity: float = Field(
        default=0.3, ge=-1, le=1,
        description="A name the question uses (\"China\") that the nearest passages say only in sentences "
                    "less similar to the question than this is mentioned in passing: the answer abstains.")

    @field_validator("home", "sources_file", "mirror", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("chroma_url", mode="after")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(r"https?://[^/:\s]+(:\d+)?", value):
            raise ValueError(f"expected http://host:port or https://host[:port], not '{value}'")
        return value

    @property
    def catalogue_path(self) -> Path:
        return self.home / "catalogue.sqlite3"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def http_cache_dir(self) -> Path:
        return self.home / "cache" / "http"

    @property
    def embedding_cache_path(self) -> Path:
        return self.home / "cache" / "embeddings.sqlite3"

    @property
    def user_files_dir(self) -> Path:
        return self.home / "documents"


def settings_file(home: Path | str | None) -> Path | None:
    """The TOML settings file: KB_CONFIG, else config.toml in the data directory."""
    config_file = os.environ.get("KB_CONFIG") or (Path(home) / "config.toml" if home else None)
    return Path(config_file).expanduser() if config_file else None


def save_settings(home: Path, values: Mapping[str, float | int | str | bool]) -> Path:
    """Write settings into the data directory's settings file, keeping the keys already there;
    a data directory's own tuned weights then apply to every command run on it."""
    unknown = [name for name in values if name not in Settings.model_fields]
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(unknown)}")
    path = settings_file(home) or Path(home) / "config.toml"
    current: dict = {}
    if path.is_file():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    current.update(values)
    lines = []
    for name, value in current.items():
        if isinstance(value, bool):
            lines.append(f"{name} = {str(value).lower()}")
        elif isinstance(value, (int, float)):
            lines.append(f"{name} = {value!r}")
        elif isinstance(value, str):
            lines.append(f"{name} = {json.dumps(value)}")
        else:
            raise ConfigError(f"{path}: '{name}' is not a plain value; edit that file by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def load_settings(**overrides) -> Settings:
    """Build the settings from overrides, the environment and the TOML file."""
    file_values: dict = {}
    home = overrides.get("home") or os.environ.get("KB_HOME")
    config_file = settings_file(home)
    if config_file and Path(config_file).expanduser().is_file():
        try:
            file_values = tomllib.loads(Path(config_file).expanduser().read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {config_file}: {exc}") from exc
    env_keys = {name for name in Settings.model_fields if f"KB_{name.upper()}" in os.environ}
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
