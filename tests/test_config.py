"""Settings: defaults → TOML → environment, and one clear line for a wrong setting."""
from __future__ import annotations

from pathlib import Path

import pytest

from eakte.config import Settings, load_settings
from eakte.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_example_documents_every_default() -> None:
    assert load_settings(ROOT / "config.example.toml", environ={}) == Settings()


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "eakte.toml"
    config.write_text('data_dir = "/srv/eakte"\n[storage]\nbucket = "from-file"\nregion = "eu-central-1"\n')
    s = load_settings(environ={"EAKTE_CONFIG": str(config), "EAKTE_STORAGE__BUCKET": "from-env",
                               "EAKTE_DATABASE_URL": "postgresql+psycopg://db/eakte"})
    assert s.data_dir == Path("/srv/eakte")
    assert s.storage.bucket == "from-env" and s.storage.region == "eu-central-1"
    assert s.database_url == "postgresql+psycopg://db/eakte"
    assert load_settings(environ={"EAKTE_DATA_DIR": "/x"}).database_url == f"sqlite:///{Path('/x/eakte.db')}"
    env_list = load_settings(environ={"EAKTE_INGEST__ALLOWED_TYPES": "application/pdf, text/plain"})
    assert env_list.ingest.allowed_types == ("application/pdf", "text/plain")


@pytest.mark.parametrize("environ, message", [
    ({"EAKTE_INGEST__MAX_SIZE_MB": "-1"}, "ingest.max_size_mb: expected a whole number >= 0, got '-1'"),
    ({"EAKTE_STORAGE__BACKEND": "ftp"}, "storage.backend: expected one of ['local', 's3'], got 'ftp'"),
    ({"EAKTE_STORAGE__COLOUR": "red"}, "storage.colour: unknown setting"),
    ({"EAKTE_NOPE__X": "1"}, "EAKTE_NOPE__X: unknown section 'nope'"),
    ({"EAKTE_DATABASE__ECHO": "maybe"}, "database.echo: expected true or false, got 'maybe'"),
    ({"EAKTE_CONFIG": "/does/not/exist.toml"}, "config file /does/not/exist.toml: not found"),
])
def test_wrong_settings_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_invalid_toml(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[storage\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, environ={})
