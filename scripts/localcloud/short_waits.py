"""The short-wait profile (``short-waits.env``): the function configuration
that makes every wait of a recovery seconds instead of minutes.

``local-cloud up`` provisions the default functions with it, the drill runs
with it, and the Rust system tests read the same file, so the format is kept
to what all three parse alike: ``KEY=VALUE`` lines, ``#`` comment lines and
blank lines. A key is an environment variable name; a value is one word (no
quotes, no spaces, no trailing comment).
"""

from __future__ import annotations

import re
from pathlib import Path

PROFILE = Path(__file__).resolve().with_name("short-waits.env")

_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")
_VALUE = re.compile(r"[^\s#'\"]+")


class ProfileError(ValueError):
    """A profile line that the readers of the file would not all agree on."""


def parse(text: str, source: str = "profile") -> dict[str, str]:
    """KEY -> VALUE, in file order; ProfileError naming ``source:line``."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{number}"
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ProfileError(f"{where}: {line!r} is not KEY=VALUE")
        if not _KEY.fullmatch(key):
            raise ProfileError(f"{where}: {key!r} is not a variable name (capitals, digits, '_')")
        if not _VALUE.fullmatch(value):
            raise ProfileError(
                f"{where}: {key}={value!r}: the value must be one word, without quotes, spaces or a comment"
            )
        if key in values:
            raise ProfileError(f"{where}: {key} is set twice")
        values[key] = value
    return values


def read_profile(path: Path = PROFILE) -> dict[str, str]:
    """The profile in ``path``; ProfileError when it is missing or malformed."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError(f"cannot read the short-wait profile {path}: {exc.strerror or exc}") from exc
    values = parse(text, str(path))
    if not values:
        raise ProfileError(f"{path}: no KEY=VALUE line")
    return values
