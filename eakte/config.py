"""Settings: built-in defaults → TOML file (--config PATH or EAKTE_CONFIG) → environment (EAKTE_…).

Environment names: `EAKTE_<SECTION>__<KEY>` for a key in a section (`EAKTE_STORAGE__BUCKET`), `EAKTE_<KEY>`
for a top-level key (`EAKTE_DATA_DIR`), and the shorthand `EAKTE_DATABASE_URL` for `database.url`.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from eakte.errors import ConfigError
from eakte.filetypes import DEFAULT_ALLOWED_TYPES

MIB = 1024 * 1024


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # empty: SQLite file eakte.db in the data directory
    pool_size: int = 10
    echo: bool = False


@dataclass(frozen=True)
class StorageSettings:
    backend: str = "local"  # "local" or "s3"
    path: str = ""  # local store; empty: <data_dir>/blobs
    endpoint_url: str = ""
    region: str = "us-east-1"
    bucket: str = "eakte"
    access_key: str = ""
    secret_key: str = ""
    addressing_style: str = "auto"  # "auto", "path" or "virtual"
    prefix: str = ""
    multipart_threshold_mb: int = 16
    multipart_chunksize_mb: int = 16
    object_lock_mode: str = ""  # "", "GOVERNANCE" or "COMPLIANCE"
    object_lock_days: int = 0
    legal_hold: bool = False
    create_bucket: bool = True
    gc_grace_hours: int = 24


@dataclass(frozen=True)
class IngestSettings:
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES
    max_size_mb: int = 2048
    extraction_timeout_s: float = 30.0
    extraction_memory_mb: int = 768
    extraction_workers: int = 1
    max_text_chars: int = 5_000_000


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    trusted_proxies: int = 0  # number of reverse proxies whose X-Forwarded-For is trusted


@dataclass(frozen=True)
class WebSettings:
    # Signs the session cookie; empty: a random key kept in <data_dir>/web-secret-key (made on first start).
    secret_key: str = ""
    session_idle_minutes: int = 30
    # "auto": the cookie is Secure when the request came over HTTPS (behind a proxy: set server.trusted_proxies).
    cookie_secure: str = "auto"  # "auto", "always" or "never"
    # Failed logins allowed per user name and per client address (Flask-Limiter notation).
    login_limit_per_user: str = "5 per 5 minutes"
    login_limit_per_address: str = "20 per 5 minutes"
    # Where the limiter keeps its counters: "memory://" in the embedded default, e.g. "redis://127.0.0.1:6379/1".
    ratelimit_storage_uri: str = "memory://"
    page_size: int = 25


@dataclass(frozen=True)
class SearchSettings:
    backend: str = "whoosh"  # "whoosh" (index directory in the data directory) or "postgres" (needs PostgreSQL)
    path: str = ""  # whoosh index directory; empty: <data_dir>/index
    batch_size: int = 500  # outbox rows indexed per batch
    # A burst of changes reaches the index in one commit per this many seconds (each index commit costs more than
    # indexing a document): how long a new document may take to become searchable while many arrive.
    drain_interval_s: float = 1.0


@dataclass(frozen=True)
class JobsSettings:
    backend: str = "sqlite"  # "sqlite" (queue file in the data directory), "redis", or "immediate" (inline)
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "eakte"  # several installations may share one Redis under different names
    workers: int = 2  # consumer threads
    in_process: bool = True  # `eakte serve` and `eakte demo` run a consumer in-process
    retries: int = 3
    retry_delay_s: int = 10


@dataclass(frozen=True)
class ConfidentialityLevel:
    """One Vertraulichkeitsstufe (xdomea): who inside the case's unit may see a case classified so."""

    key: str  # stored on the case (Case.confidentiality), at most 32 characters
    label_de: str
    label_en: str
    # The code of the xdomea code list "Vertraulichkeitsstufe"; the code list's version must be the one of the
    # xdomea version the archive takes (xdomea 3.0.0: code list 1.0).
    xdomea_code: str
    # The least role (in `role_order`) a member of the case's unit needs to see the case.
    min_role: str = "clerk"
    auditors: bool = True  # auditors (Revision) see cases of this level in every unit, as any case


# xdomea 3.0.0, code list Vertraulichkeitsstufe 1.0: 001 geheim, 002 NfD, 003 offen, 004 streng geheim,
# 005 vertraulich. "streng vertraulich" is no VS level and has no code of its own: it goes out as 001 geheim,
# the next level above it, so that an export never classifies a case lower than it is.
DEFAULT_CONFIDENTIALITY_LEVELS = (
    ConfidentialityLevel("open", "offen", "open", "003", "clerk"),
    ConfidentialityLevel("restricted", "VS – Nur für den Dienstgebrauch", "restricted (official use only)", "002",
                         "clerk"),
    ConfidentialityLevel("confidential", "vertraulich", "confidential", "005", "approver"),
    ConfidentialityLevel("strictly_confidential", "streng vertraulich", "strictly confidential", "001", "approver"),
    ConfidentialityLevel("secret", "geheim", "secret", "001", "head_of_unit"),
)


@dataclass(frozen=True)
class ConfidentialitySettings:
    """The confidentiality levels, lowest first, and how roles rank against their `min_role`."""

    levels: tuple[ConfidentialityLevel, ...] = DEFAULT_CONFIDENTIALITY_LEVELS
    # Lowest first: a member meets a level's `min_role` by holding it or a role after it in this list. Any other
    # role (e.g. mayor) counts as the first, so that every member of a unit sees its cases of the lowest levels.
    role_order: tuple[str, ...] = ("clerk", "approver", "head_of_unit")
    lower_role: str = "head_of_unit"  # lowering a case's level needs this role (or one above) in its unit

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    def level(self, key: str) -> ConfidentialityLevel | None:
        return next((level for level in self.levels if level.key == key), None)

    def effective(self, key: str) -> ConfidentialityLevel:
        """The level of a case; a key no longer configured counts as the highest level (fails closed)."""
        return self.level(key) or self.levels[-1]

    def position(self, key: str) -> int:
        return self.levels.index(self.effective(key))

    def rank(self, roles: frozenset[str]) -> int:
        """How far up `role_order` these roles (of one unit) reach; -1 for no role at all."""
        if not roles:
            return -1
        return max((self.role_order.index(r) for r in roles if r in self.role_order), default=0)

    def needed(self, key: str) -> int:
        return self.role_order.index(self.effective(key).min_role)

    def may_see(self, roles: frozenset[str], key: str) -> bool:
        """Whether a member holding `roles` in the case's unit sees a case of level `key`."""
        return self.rank(roles) >= self.needed(key)

    def may_lower(self, roles: frozenset[str]) -> bool:
        return self.rank(roles) >= self.role_order.index(self.lower_role)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./eakte-data")
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    web: WebSettings = field(default_factory=WebSettings)
    confidentiality: ConfidentialitySettings = field(default_factory=ConfidentialitySettings)
    # Per case type, handed to its factory: e.g. [case_types.invoice] receipt_unit = "20"
    case_types: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'eakte.db').resolve()}"

    @property
    def local_blob_path(self) -> Path:
        return Path(self.storage.path) if self.storage.path else self.data_dir / "blobs"


_ALLOWED_CHOICES = {
    ("storage", "backend"): {"local", "s3"},
    ("storage", "addressing_style"): {"auto", "path", "virtual"},
    ("storage", "object_lock_mode"): {"", "GOVERNANCE", "COMPLIANCE"},
    ("jobs", "backend"): {"sqlite", "redis", "immediate"},
    ("search", "backend"): {"whoosh", "postgres"},
    ("web", "cookie_secure"): {"auto", "always", "never"},
}
_ENV_ALIASES = {"EAKTE_DATABASE_URL": ("database", "url")}


def load_settings(config_path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = config_path or env.get("EAKTE_CONFIG")
    if path:
        raw = _read_toml(Path(path))
    _merge_environment(raw, env)
    settings: Settings = _build(Settings, raw, prefix="")
    if settings.storage.object_lock_mode and settings.storage.object_lock_days == 0:
        raise ConfigError("storage.object_lock_days: expected a number of days > 0 when object_lock_mode is set")
    check_confidentiality(settings.confidentiality)
    return settings


def check_confidentiality(c: ConfidentialitySettings, known_roles: frozenset[str] | None = None) -> None:
    """Refuse levels that cannot work; `known_roles` (the registry's, checked when it is loaded): every role
    named must exist, so that a typo cannot leave a level nobody may see."""
    where = "confidentiality"
    if not c.levels:
        raise ConfigError(f"{where}.levels: expected at least one level")
    if not c.role_order or len(set(c.role_order)) != len(c.role_order):
        raise ConfigError(f"{where}.role_order: expected a list of distinct roles, lowest first")
    if len(set(c.keys)) != len(c.keys):
        raise ConfigError(f"{where}.levels: duplicate keys")
    for i, level in enumerate(c.levels):
        at = f"{where}.levels[{i}]"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", level.key):
            raise ConfigError(f"{at}.key: expected lower-case letters, digits and _ (at most 32), got {level.key!r}")
        if not re.fullmatch(r"\d{3}", level.xdomea_code):
            raise ConfigError(f"{at}.xdomea_code: expected a code of three digits such as '003', "
                              f"got {level.xdomea_code!r}")
        if not level.label_de or not level.label_en:
            raise ConfigError(f"{at}: label_de and label_en must not be empty")
        if level.min_role not in c.role_order:
            raise ConfigError(f"{at}.min_role: unknown role {level.min_role!r} (expected one of "
                              f"{', '.join(c.role_order)} from confidentiality.role_order)")
    if c.lower_role not in c.role_order:
        raise ConfigError(f"{where}.lower_role: unknown role {c.lower_role!r} (expected one of "
                          f"{', '.join(c.role_order)} from confidentiality.role_order)")
    if known_roles is not None:
        unknown = sorted(set(c.role_order) - known_roles)
        if unknown:
            raise ConfigError(f"{where}.role_order: unknown role(s) {', '.join(unknown)} (known: "
                              f"{', '.join(sorted(known_roles))})")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None


def _merge_environment(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    sections = {f.name for f in dataclasses.fields(Settings) if dataclasses.is_dataclass(f.default_factory)}  # type: ignore[arg-type]
    for name, value in env.items():
        if not name.startswith("EAKTE_") or name == "EAKTE_CONFIG" or name.startswith("EAKTE_TEST_"):
            continue
        if name in _ENV_ALIASES:
            section, key = _ENV_ALIASES[name]
        elif name.startswith("EAKTE_CASE_TYPES__"):
            parts = name[len("EAKTE_CASE_TYPES__"):].lower().split("__", 1)
            if len(parts) != 2:
                raise ConfigError(f"{name}: expected EAKTE_CASE_TYPES__<TYPE>__<SETTING>")
            raw.setdefault("case_types", {}).setdefault(parts[0], {})[parts[1]] = value
            continue
        elif "__" in name:
            section, key = name[len("EAKTE_"):].lower().split("__", 1)
            if section not in sections:
                raise ConfigError(f"{name}: unknown section {section!r} (expected one of {', '.join(sorted(sections))})")
        else:
            key = name[len("EAKTE_"):].lower()
            if key not in {f.name for f in dataclasses.fields(Settings)} or key in sections:
                continue  # other EAKTE_* variables (e.g. of tools) are not ours to judge
            raw[key] = value
            continue
        raw.setdefault(section, {})[key] = value


def _build(cls: type, raw: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{prefix.rstrip('.')}: expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown setting (expected one of {', '.join(known)})")
    values: dict[str, Any] = {}
    for name, f in known.items():
        if name not in raw:
            continue
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            values[name] = _build(kind, raw[name], prefix=f"{prefix}{name}.")
        elif typing.get_origin(kind) is tuple and dataclasses.is_dataclass(typing.get_args(kind)[0]):
            # A list of tables (confidentiality levels): only from the file, never as an environment string.
            if not isinstance(raw[name], list) or not raw[name]:
                raise ConfigError(f"{prefix}{name}: expected a list of tables such as [{{key = ...}}, ...] "
                                  "in the config file")
            item = typing.get_args(kind)[0]
            values[name] = tuple(_build(item, entry, prefix=f"{prefix}{name}[{i}].")
                                 for i, entry in enumerate(raw[name]))
        elif typing.get_origin(kind) is dict:
            # Free-form tables (case-type settings) are checked by their owner when it is built.
            if not isinstance(raw[name], Mapping) or not all(isinstance(v, Mapping) for v in raw[name].values()):
                raise ConfigError(f"{prefix}{name}: expected tables such as [{name}.invoice]")
            values[name] = {k: dict(v) for k, v in raw[name].items()}
        else:
            values[name] = _coerce(f"{prefix}{name}", kind, raw[name])
            choices = _ALLOWED_CHOICES.get(tuple(prefix.rstrip(".").split(".")) + (name,))  # type: ignore[arg-type]
            if choices is not None and values[name] not in choices:
                raise ConfigError(f"{prefix}{name}: expected one of {sorted(choices)}, got {values[name]!r}")
    missing = [n for n, f in known.items() if n not in values and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{prefix}{missing[0]}: missing (a {prefix.rstrip('.')} needs {', '.join(missing)})")
    return cls(**values)


def _coerce(key: str, kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                return value.lower() in {"1", "true", "yes", "on"}
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            result = int(value)
            if result < 0:
                raise ValueError
            return result
        if kind is float:
            result = float(value)
            if result <= 0:
                raise ValueError
            return result
        if kind is str:
            if not isinstance(value, (str, int)):
                raise ValueError
            return str(value)
        if kind is Path:
            if not isinstance(value, str) or not value:
                raise ValueError
            return Path(value)
        if origin is tuple:
            items = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
                raise ValueError
            return tuple(items)
    except (TypeError, ValueError):
        pass
    else:
        raise ConfigError(f"{key}: unsupported setting type {kind}")
    raise ConfigError(f"{key}: expected {_describe(kind)}, got {value!r}")


def _describe(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "a whole number >= 0"
    if kind is float:
        return "a number > 0"
    if kind is Path:
        return "a directory path"
    if typing.get_origin(kind) is tuple:
        return "a list of strings (comma-separated in the environment)"
    return "a string"


__all__ = ["Settings", "ConfidentialityLevel", "ConfidentialitySettings", "check_confidentiality",
           "DatabaseSettings", "StorageSettings", "IngestSettings", "ServerSettings", "JobsSettings",
           "load_settings", "MIB"]
