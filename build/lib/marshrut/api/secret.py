"""The key that signs page sessions and CSRF tokens when ``MARSHRUT_SECRET_KEY`` is not set.

There is no known default: the first start writes a random key to ``var/secret_key``
(mode 0600) and every later start, and every gunicorn worker, reads the same file. The
file is created atomically: written under a temporary name, then hard-linked into place,
which fails if another process got there first (that process's key is then used).
"""

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"


def load_or_create(folder: Path) -> str:
    """The key kept in ``folder/secret_key``, created with 64 random bytes (hex) on first use."""
    path = folder / FILE_NAME
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(64))
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:  # another worker wrote it first: use theirs
                pass
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable key: delete it (a new one is made) or set MARSHRUT_SECRET_KEY")
    return key
