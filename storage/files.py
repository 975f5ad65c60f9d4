"""Files received and produced (photos, plans, signatures, PDFs), stored under
DATA_DIR with generated names: nothing a person sends ever becomes a path."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

SAFE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".pdf", ".gif", ".tif", ".tiff"}
    | {".ogg", ".oga", ".mp3", ".m4a", ".wav"}  # voice notes and audio files
)


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to DATA_DIR, with forward slashes
    size: int
    sha256: str


class FileStore:
    """Writes files atomically (temporary name, fsync, rename) under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def absolute(self, relative: str) -> Path:
        """The file on disk for a stored relative path; refuses anything outside root."""
        candidate = (self.root / PurePosixPath(relative)).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"path outside the file store: {relative!r}")
        return candidate

    def new_name(self, folder: str, suffix: str) -> str:
        suffix = suffix.lower() if suffix.lower() in SAFE_SUFFIXES else ".bin"
        return f"{folder}/{secrets.token_hex(16)}{suffix}"

    def save(self, folder: str, data: bytes, suffix: str) -> StoredFile:
        """Store `data` under a fresh generated name in `folder` and return where."""
        relative = self.new_name(folder, suffix)
        target = self.absolute(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".part")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        return StoredFile(relative, len(data), hashlib.sha256(data).hexdigest())

    def read(self, relative: str) -> bytes:
        return self.absolute(relative).read_bytes()
