"""Reference data shipped in ``reference/``: service catalogue, providers, circumstances, contacts."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

#: The folder the product ships its reference data in.
DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "reference"

SERVICES_FILE = "services.json"
PROVIDERS_FILE = "providers.json"
CIRCUMSTANCES_FILE = "circumstances.json"
CONTACTS_FILE = "contacts.json"


def _directory(directory: str | Path | None) -> Path:
    """Resolve the reference directory, the shipped one when none is given."""
    return DEFAULT_DIRECTORY if directory is None else Path(directory).resolve()


@functools.cache
def _load(directory: Path, name: str) -> Any:
    """Read and parse one reference file (cached per directory and file name)."""
    with (directory / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def _read(name: str, directory: str | Path | None) -> Any:
    """Return a private copy of one cached reference file."""
    return copy.deepcopy(_load(_directory(directory), name))


def services(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """The 24 services of the 2025 catalogue: ``{code, name, content, providers, ...}``."""
    return _read(SERVICES_FILE, directory)


def providers(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Providers of social services (and the department itself), each with a stable ``id``."""
    return _read(PROVIDERS_FILE, directory)


def circumstances(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Categories of difficult life circumstances: ``{code, name}``."""
    return _read(CIRCUMSTANCES_FILE, directory)


def contacts(directory: str | Path | None = None) -> dict[str, Any]:
    """What the applicant is shown: hotline, offices, portal, emergency numbers, links."""
    return _read(CONTACTS_FILE, directory)


def service_codes(directory: str | Path | None = None) -> list[int]:
    """The catalogue codes (numbers in the 2025 catalogue), in catalogue order."""
    return [service["code"] for service in _load(_directory(directory), SERVICES_FILE)]


def provider_ids(directory: str | Path | None = None) -> list[str]:
    """The ids of all providers, in file order."""
    return [provider["id"] for provider in _load(_directory(directory), PROVIDERS_FILE)]


def circumstance_codes(directory: str | Path | None = None) -> list[str]:
    """The codes of all categories of difficult life circumstances, in file order."""
    return [item["code"] for item in _load(_directory(directory), CIRCUMSTANCES_FILE)]


def service(code: int, directory: str | Path | None = None) -> dict[str, Any] | None:
    """One catalogue service by its code, or None when the catalogue has no such code."""
    return next((item for item in services(directory) if item["code"] == code), None)


def provider(provider_id: str, directory: str | Path | None = None) -> dict[str, Any] | None:
    """One provider by its id, or None when there is no such provider."""
    return next((item for item in providers(directory) if item["id"] == provider_id), None)


def service_provider_ids(code: int, directory: str | Path | None = None) -> list[str]:
    """Ids of the providers that may deliver a service (all providers for an "all registered" row)."""
    item = service(code, directory)
    if item is None:
        return []
    if item.get("all_registered_providers"):
        return [p["id"] for p in providers(directory) if p.get("kind") == "provider"]
    return list(item["providers"])


def clear_cache() -> None:
    """Forget every file read so far (after the files changed on disk)."""
    _load.cache_clear()
