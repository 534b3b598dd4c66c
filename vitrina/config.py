"""One settings object, loaded from ``VITRINA_*`` environment variables and an
optional TOML file (``VITRINA_CONFIG_FILE``), validated once at start-up.

Nothing reads the environment at import time: call :func:`load_settings` (the CLI
and the app factory do) and pass the result down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vitrina.errors import ConfigError

#: values that look like keys but are not secrets: production refuses them
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development", "test", "xxx"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VITRINA_", extra="forbid", frozen=True)

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(Path("var"), description="Embedded catalog (SQLite) and blobs live here.")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite in data_dir.")
    blob_url: str = Field("", description="Blob store: a path, file:///path or s3://bucket/prefix?endpoint_url=...; empty = data_dir/blobs.")
    config_file: Path | None = Field(None, description="Optional TOML file with these same fields.")

    # --- modes ---------------------------------------------------------------------------
    dev: bool = Field(False, description="Development mode: no API keys needed, unsigned image URLs allowed.")
    signing_keys: dict[str, str] = Field(
        default_factory=dict,
        description='URL signing keys by key id, JSON: {"k1": "long-random-secret"}. Required outside dev mode.',
    )
    signing_key_id: str = Field("", description="Key id used to sign new URLs; default: the first key.")
    public_base_url: str = Field("", description="Prefix for URLs in API answers, e.g. https://media.example.com")

    # --- server --------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    http_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes for `vitrina serve`.")
    inprocess_workers: int = Field(2, ge=0, le=64, description="Pipeline worker threads inside `vitrina serve`.")

    # --- ingest limits -------------------------------------------------------------------
    max_upload_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest accepted upload.")
    max_pixels: int = Field(100_000_000, ge=1, description="Largest width*height*frames accepted (bomb guard).")
    max_frames: int = Field(1_000, ge=1)

    # --- image derivatives ---------------------------------------------------------------
    derivative_widths: list[int] = Field(default_factory=lambda: [320, 640, 1280])
    derivative_formats: list[str] = Field(default_factory=lambda: ["webp", "jpeg", "avif"])
    derivative_quality: int = Field(80, ge=1, le=100)

    # --- image delivery (/img/{signature}/{ops}/{asset_id}) ---------------------------------
    delivery_cache: bool = Field(True, description="Keep transformed images: in the blob store (cache/img/...) and, for small hot ones, in memory. 0 makes every request do the work.")
    delivery_memory_bytes: int = Field(64 * 1024 * 1024, ge=0, description="In-memory cache of ready answers per HTTP process, in bytes (0 = off).")
    delivery_memory_item_bytes: int = Field(512 * 1024, ge=1, description="Largest answer the in-memory cache keeps.")
    delivery_asset_ttl_seconds: float = Field(30.0, ge=0, description="How long a process trusts what it read about an asset (a deleted asset's images may be served this long).")
    image_presets: dict[str, str] = Field(default_factory=dict, description='Named ops for t_{name}, JSON: {"card": "w_400,h_300,c_fill,g_auto"}.')
    delivery_max_concurrency: int = Field(0, ge=0, le=256, description="Transformations running at once per HTTP process; 0 = the number of CPUs.")
    delivery_max_queue: int = Field(64, ge=0, description="Transformations waiting for a slot per HTTP process; past it the answer is 503 with Retry-After.")
    delivery_render_seconds: float = Field(20.0, gt=0, description="Time budget of one transformation; over it the answer is 503.")
    delivery_max_width: int = Field(8192, ge=1, description="Widest output in device pixels (w times dpr).")
    delivery_max_height: int = Field(8192, ge=1, description="Tallest output in device pixels (h times dpr).")
    delivery_max_output_pixels: int = Field(40_000_000, ge=1, description="Largest output width x height.")
    delivery_max_source_pixels: int = Field(100_000_000, ge=1, description="Largest source width x height a transformation reads.")
    delivery_max_overlays: int = Field(4, ge=1, le=64, description="Overlays (l_) per request.")
    delivery_max_dpr: float = Field(4.0, gt=0, le=10, description="Largest device pixel ratio (dpr_).")
    delivery_max_blur: float = Field(100.0, gt=0, description="Largest blur sigma in device pixels (e_blur).")

    # --- pipeline ------------------------------------------------------------------------
    lease_seconds: float = Field(30.0, gt=0, description="A claimed step run is another worker's after this.")
    max_attempts: int = Field(5, ge=1, le=100)
    retry_base_seconds: float = Field(2.0, ge=0, description="Back-off: base * 2**(attempt-1), with jitter.")
    poll_seconds: float = Field(0.25, gt=0, description="Idle workers look for work this often.")
    step_budget_seconds: float = Field(300.0, gt=0, description="A step running longer fails with step_timeout and is retried; a step may set its own budget.")
    plugins: list[str] = Field(default_factory=list, description="Modules whose register(registries) adds plug-ins at start.")

    @field_validator("derivative_widths")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        if not v or any(w < 16 or w > 8192 for w in v):
            raise ValueError("each width must be within 16..8192 and at least one is needed")
        return sorted(set(v))

    @field_validator("derivative_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in {"jpeg", "webp", "avif"}]
        if bad or not v:
            raise ValueError(f"formats must be among jpeg, webp, avif (got {bad or v})")
        return v

    @field_validator("image_presets")
    @classmethod
    def _presets(cls, v: dict[str, str]) -> dict[str, str]:
        if v:
            from vitrina.delivery.grammar import validate_presets  # imports libvips: only when used

            try:
                validate_presets(v)
            except ConfigError as exc:
                raise ValueError(exc.message) from None
        return v

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Settings:
        if not self.dev:
            weak = [k for k, s in self.signing_keys.items() if s.lower() in PLACEHOLDER_SECRETS or len(s) < 16]
            if not self.signing_keys or weak:
                raise ValueError(
                    "signing_keys: production needs at least one real URL signing key of 16+ characters "
                    '(VITRINA_SIGNING_KEYS=\'{"k1": "..."}\'), or set VITRINA_DEV=1 for development'
                )
        if self.signing_key_id and self.signing_key_id not in self.signing_keys:
            raise ValueError(f"signing_key_id: {self.signing_key_id!r} is not among signing_keys")
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
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
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
        return self.signing_key_id or next(iter(self.signing_keys), "")


def _config_file_from(*sources: PydanticBaseSettingsSource) -> Path | None:
    for source in sources:
        value = source().get("config_file")
        if value:
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"config_file: {path} does not exist", details={"setting": "config_file"})
            return path
    return None


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (+ file), or a ConfigError that names the bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"VITRINA_{name.upper()}: {err['msg']}")
        raise ConfigError(
            "invalid settings: " + "; ".join(problems), details={"problems": problems}
        ) from None
