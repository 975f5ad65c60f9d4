"""Verification codes: tell an authentic report from a modified or unknown one.

Every report carries a short verification code, printed in each page footer and
stored in the PDF metadata (keywords). The bot stores the SHA-256 of every PDF it
issues with its code. When someone sends a PDF back:

- the code is read back (`read_verification_code`), and
- the SHA-256 of the file is compared with the ones issued under that code
  (`check_pdf`): equal means authentic and unmodified; a known code with another
  hash means the file was changed after it was issued; no code, or a code nobody
  issued, means unknown.

Codes are 10 symbols of Crockford's base32 (digits and capital letters without
I, L, O and U, so nothing reads as something else), shown as two groups of five:
"7K2QM-X9D4R". That is 50 random bits: guessing an issued code is hopeless.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32 alphabet."""
CODE_LENGTH = 10
GROUP = 5
KEYWORD_PREFIX = "verification:"
"""How the code is written in the PDF keywords: "verification:7K2QM-X9D4R"."""

_SYMBOL = f"[{ALPHABET}]"
_CODE_RE = re.compile(rf"(?<![0-9A-Z]){_SYMBOL}{{{GROUP}}}-{_SYMBOL}{{{GROUP}}}(?![0-9A-Z])")
# What a person may type instead of the right symbol (Crockford's decoding rules).
_TYPED = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_verification_code() -> str:
    """A fresh random code, e.g. "7K2QM-X9D4R"."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{symbols[:GROUP]}-{symbols[GROUP:]}"


def normalize_code(text: str) -> str | None:
    """The code a person typed, in its canonical form, or None if it is not one.

    Case, spaces and hyphens do not matter, and I, L and O are read as 1, 1 and 0.
    """
    symbols = re.sub(r"[\s\-]", "", text).upper().translate(_TYPED)
    if len(symbols) != CODE_LENGTH or any(symbol not in ALPHABET for symbol in symbols):
        return None
    return f"{symbols[:GROUP]}-{symbols[GROUP:]}"


def sha256(pdf: bytes) -> str:
    """The SHA-256 of a file, as 64 lowercase hexadecimal digits."""
    return hashlib.sha256(pdf).hexdigest()


def read_verification_code(pdf: bytes) -> str | None:
    """The verification code of a report, or None if the file holds none.

    Read from the metadata keywords first, then from the text of the first page's
    footer (a tool that rewrites the metadata usually keeps the page text).
    A file that is not a readable PDF holds no code.
    """
    # pypdf is loaded when a PDF is first read (by the worker process, see
    # reports.offload): the bot's own process, which only makes codes, never needs it.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        metadata = reader.metadata
        keywords = metadata.get("/Keywords") if metadata is not None else None
        if isinstance(keywords, str):
            for keyword in re.split(r"[,;]\s*|\s+", keywords):
                if keyword.startswith(KEYWORD_PREFIX):
                    code = normalize_code(keyword.removeprefix(KEYWORD_PREFIX))
                    if code is not None:
                        return code
        if reader.pages:
            text = reader.pages[0].extract_text()
            found = _CODE_RE.findall(text)
            if found:
                # The footer is the last thing drawn on the page.
                return str(found[-1])
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return None
    return None


class Verdict(StrEnum):
    """What the bot can say about a PDF sent back to it."""

    AUTHENTIC = "authentic"
    """Issued by us, byte for byte."""
    MODIFIED = "modified"
    """Carries one of our codes, but the file differs from every file issued with it."""
    UNKNOWN = "unknown"
    """No code, or a code we never issued."""


@dataclass(frozen=True, slots=True)
class Check:
    """The verdict on a PDF, the code read from it and its SHA-256."""

    verdict: Verdict
    code: str | None
    sha256: str


def check_pdf(pdf: bytes, issued_hashes: Callable[[str], Collection[str]]) -> Check:
    """Judge a PDF sent back to the bot.

    `issued_hashes(code)` returns the SHA-256 of every PDF issued with that code
    (empty if the code was never issued); the bot answers it from its database.
    """
    digest = sha256(pdf)
    code = read_verification_code(pdf)
    if code is None:
        return Check(Verdict.UNKNOWN, None, digest)
    hashes = issued_hashes(code)
    if not hashes:
        return Check(Verdict.UNKNOWN, code, digest)
    verdict = Verdict.AUTHENTIC if digest in hashes else Verdict.MODIFIED
    return Check(verdict, code, digest)
