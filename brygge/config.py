"""Profiles in ``~/.config/brygge/config.toml``: the API's URL and a token per profile."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from brygge.resources import ClientError

DEFAULT_PROFILE = "default"


@dataclass(frozen=True, slots=True)
class Profile:
    url: str
    token: str | None


def config_path(environ: dict[str, str] | None = None) -> Path:
    """Where profiles live: ``$XDG_CONFIG_HOME/brygge/config.toml``, else under ``~/.config``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "brygge" / "config.toml"


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """Every profile of the file (none when it does not exist).

    Raises ClientError naming the file and where it is wrong when it is not TOML.
    """
    if not path.exists():
        return {}
    with path.open("rb") as file:
        try:
            data = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            # A file edited by hand: a URL or token without its quotes is the usual slip.
            raise ClientError(
                0,
                f"{path} is not valid TOML ({error}); strings need quotes "
                '(url = "https://..."): fix it, or remove it and run brygge login',
            ) from None
    return {name: dict(values) for name, values in data.items() if isinstance(values, dict)}


def read_profile(name: str, path: Path) -> Profile | None:
    values = read_profiles(path).get(name)
    if not values or not values.get("url"):
        return None
    return Profile(values["url"], values.get("token"))


def save_profile(name: str, profile: Profile, path: Path) -> None:
    """Write (or replace) one profile; the file is made 0600 before the token is written."""
    profiles = read_profiles(path)
    profiles[name] = {"url": profile.url, **({"token": profile.token} if profile.token else {})}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    # Opened with 0600 from the start: a token must never sit in a world-readable file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(toml_text(profiles))
    temporary.chmod(0o600)
    temporary.replace(path)


def toml_text(profiles: dict[str, dict[str, str]]) -> str:
    """TOML of string tables (JSON string escapes are valid TOML basic strings)."""
    lines: list[str] = []
    for name, values in profiles.items():
        lines.append(f"[{json.dumps(name)}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)
