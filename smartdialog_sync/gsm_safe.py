"""GSM-7 look-alikes: characters that make an SMS UCS-2 although a GSM-7 character reads the same.

One curly quote turns a whole message into UCS-2 (70 characters a part instead of 160). `LOOK_ALIKES` is
the explicit table of such characters and their readable GSM-7 replacement; `make_gsm_safe` applies it
(deterministically: the same text always gives the same result), and `preview_content` tells, for one
content, its encoding, the look-alikes it holds and the SMS parts replacing them would save.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from smartdialog_sync.sms_parts import GSM7_ALL, cached_count_parts, count_parts

Render = Callable[[str, Mapping[str, str]], str]  # a content with a recipient's values filled in

LOOK_ALIKES: dict[str, str] = {
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (the typographic apostrophe)
    "\u201a": ",",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime
    "\u00b4": "'",  # ´ acute accent
    "`": "'",  # grave accent (not in GSM-7)
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u00ab": '"',  # « left-pointing double angle quotation mark
    "\u00bb": '"',  # » right-pointing double angle quotation mark
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2212": "-",  # − minus sign
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u2026": "...",  # … horizontal ellipsis
    "\u2022": "*",  # • bullet
    "\u00ad": "",  # soft hyphen (invisible)
    "\u200b": "",  # zero width space (invisible)
}


def make_gsm_safe(text: str) -> str:
    """`text` with every look-alike of LOOK_ALIKES replaced by its GSM-7 reading (other characters kept)."""
    return "".join(LOOK_ALIKES.get(char, char) for char in text)


def shown(char: str) -> str:
    """A character for messages: `[’] U+2019 right single quotation mark` (readable even when invisible)."""
    return f"[{char}] U+{ord(char):04X} {unicodedata.name(char, 'unnamed').lower()}"


@dataclass(frozen=True)
class LookAlike:
    """A look-alike found in a content: the character, how often, and what --gsm-safe puts instead."""

    char: str
    count: int
    replacement: str

    def describe(self) -> str:
        """`[’] U+2019 right single quotation mark ×2 → [']` (invisible characters are named by their code)."""
        return f"{shown(self.char)} ×{self.count} → {f'[{self.replacement}]' if self.replacement else 'nothing'}"


@dataclass(frozen=True)
class ContentPreview:
    """The encoding of one content (as rendered for its recipients) and what --gsm-safe would change."""

    encoding: str  # of the content itself (its placeholders unrendered): GSM-7 or UCS-2
    look_alikes: tuple[LookAlike, ...]  # the content's characters with a GSM-7 look-alike
    other_non_gsm: tuple[str, ...]  # the content's other non-GSM characters (they keep it UCS-2)
    parts: int  # in total over the recipients
    safe_parts: int  # in total over the recipients once the look-alikes are replaced
    safe_ucs2: int = 0  # recipients still UCS-2 once the look-alikes are replaced (their values, other characters)

    @property
    def saved_parts(self) -> int:
        """The SMS parts replacing the look-alikes would save."""
        return self.parts - self.safe_parts

    def lines(self) -> list[str]:
        """The plan's line about the content's encoding: GSM-7, or why it is UCS-2 and what --gsm-safe would save."""
        if not self.look_alikes:
            if self.other_non_gsm:
                return [f"  encoding: UCS-2 because of {_chars(self.other_non_gsm)} (no GSM-7 look-alike)"]
            return ["  encoding: GSM-7"]
        found = ", ".join(item.describe() for item in self.look_alikes)
        rest = f"; also {_chars(self.other_non_gsm)} (no GSM-7 look-alike: stays UCS-2)" if self.other_non_gsm else ""
        saving = (f"--gsm-safe would save {self.saved_parts:,} SMS part(s) ({self.parts:,} → {self.safe_parts:,})"
                  if self.saved_parts else "--gsm-safe would save no SMS part")
        if self.safe_ucs2 and not self.other_non_gsm:
            saving += f"; {self.safe_ucs2:,} recipient(s) stay UCS-2 through their own values"
        return [f"  encoding: UCS-2 because of look-alikes of GSM-7 characters: {found}{rest}; {saving}"]


def replacement_note(original: str) -> str | None:
    """What make_gsm_safe changed in `original`, as one line (None when it changed nothing)."""
    found = preview_content(original).look_alikes
    return "--gsm-safe replaced " + ", ".join(item.describe() for item in found) if found else None


def _chars(chars: Iterable[str]) -> str:
    return ", ".join(shown(char) for char in chars)


def preview_content(content: str, recipients: Iterable[tuple[Mapping[str, str], int]] | None = None,
                    render: Render | None = None) -> ContentPreview:
    """The encoding preview of `content` for its `recipients`: each one's values and the SMS parts it takes as
    planned (None: the content once, as it is). Only when the content holds look-alikes is each recipient's
    text rendered again (with `render`), with them replaced, to count the parts --gsm-safe would save."""
    counts = Counter(char for char in content if char not in GSM7_ALL)
    look_alikes = tuple(LookAlike(char, count, LOOK_ALIKES[char]) for char, count in counts.items() if char in LOOK_ALIKES)
    other = tuple(char for char in counts if char not in LOOK_ALIKES)
    safe = make_gsm_safe(content)
    parts = safe_parts = safe_ucs2 = 0
    for values, planned in recipients if recipients is not None else [({}, count_parts(content).parts)]:
        parts += planned
        if not look_alikes:
            safe_parts += planned
            continue
        after = cached_count_parts(render(safe, values) if render else safe)
        safe_parts += after.parts
        safe_ucs2 += after.encoding == "UCS-2"
    return ContentPreview("GSM-7" if not counts else "UCS-2", look_alikes, other, parts, safe_parts, safe_ucs2)
