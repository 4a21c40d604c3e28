"""The plan's encoding and cost preview: GSM-7 look-alikes named with the parts replacing them saves,
`--gsm-safe` replacing them deterministically (a rerun is the same campaign), and the price estimate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartdialog_sync.gsm_safe import (
    LOOK_ALIKES,
    make_gsm_safe,
    preview_content,
)
from smartdialog_sync.sms_parts import GSM7_ALL, count_parts
from tests.campaigns.helpers import SEND, make_crm

SPRING = "Hei {{first_name}}! Our ’spring’ sale – 20\u00a0% off… see you soon"


def test_every_look_alike_is_replaced_by_readable_gsm7() -> None:
    for char, replacement in LOOK_ALIKES.items():
        assert char not in GSM7_ALL and all(c in GSM7_ALL for c in replacement), repr(char)
    text = "‘a’ “b” c–d—e\u00a0f… g\u202fh"
    assert make_gsm_safe(text) == "'a' \"b\" c-d-e f... g h"
    assert make_gsm_safe(make_gsm_safe(text)) == make_gsm_safe(text)
    assert count_parts(make_gsm_safe(text)).encoding == "GSM-7"
    assert make_gsm_safe("Ça va? 😀 ç") == "Ça va? 😀 ç"  # no look-alike: kept as it is


def test_the_preview_names_the_look_alikes_and_the_parts_they_cost() -> None:
    content = "x" * 90 + "’"  # UCS-2: 91 units = 2 parts; GSM-7: 1 part
    preview = preview_content(content, [({}, 2)] * 3, lambda text, values: text)
    assert (preview.encoding, preview.parts, preview.safe_parts, preview.saved_parts) == ("UCS-2", 6, 3, 3)
    [line] = preview.lines()
    assert "[’] U+2019 right single quotation mark ×1 → [']" in line and "--gsm-safe would save 3 SMS part(s) (6 → 3)" in line
    mixed = preview_content("ça – va")
    assert "also [ç] U+00E7 latin small letter c with cedilla (no GSM-7 look-alike: stays UCS-2)" in mixed.lines()[0]
    assert mixed.saved_parts == 0
    assert preview_content("plain text").lines() == ["  encoding: GSM-7"]


def _spring(sdsync: Callable[..., Any], crm: str, *extra: str, **env: str) -> Any:
    return sdsync(*SEND, "--source", crm, "--query", "SELECT phone, first_name FROM customers", "--content", SPRING,
                  *extra, **env)


def test_the_plan_shows_the_look_alikes_and_the_estimated_cost(sdsync: Callable[..., Any], emulator: Any,
                                                               tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    unpriced = _spring(sdsync, crm, "--dry-run")
    assert unpriced.exit_code == 0, unpriced.output
    assert "encoding: UCS-2 because of look-alikes of GSM-7 characters: [’] U+2019 right single quotation mark ×2 → [']" in unpriced.output
    assert "[\u00a0] U+00A0 no-break space ×1 → [ ]" in unpriced.output
    assert "estimated cost: unknown (set [campaigns] price_per_part and currency)" in unpriced.output
    priced = _spring(sdsync, crm, "--dry-run", CAMPAIGNS__PRICE_PER_PART="0.065", CAMPAIGNS__CURRENCY="EUR")
    assert "estimated cost: 0.65 EUR (10 part(s) × 0.065 EUR)" in priced.output, priced.output
    bad = _spring(sdsync, crm, "--dry-run", CAMPAIGNS__PRICE_PER_PART="-1")
    assert bad.exit_code == 2 and "price_per_part must be a number of at least 0" in bad.output


def test_gsm_safe_sends_gsm7_and_a_rerun_is_the_same_campaign(sdsync: Callable[..., Any], emulator: Any,
                                                               tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 5)
    padding = " " + "x" * 80  # 3 UCS-2 parts each as written, 1 GSM-7 part once replaced
    args = [*SEND, "--source", crm, "--query", "SELECT phone, first_name FROM customers",
            "--content", SPRING + padding, "--gsm-safe", "--yes"]
    sent = sdsync(*args)
    assert sent.exit_code == 0, sent.output
    assert "--gsm-safe replaced [’] U+2019 right single quotation mark ×2 → [']" in sent.output
    assert "SMS parts: 5 in total (GSM-7 5)" in sent.output and "encoding: GSM-7" in sent.output
    contents = {m["content"] for m in emulator.messages()}
    assert contents == {f"Hei Name{i}! Our 'spring' sale - 20 % off... see you soon{padding}" for i in range(5)}
    again = sdsync(*args)
    assert again.exit_code == 0 and "Every batch is confirmed sent; nothing to do." in again.output, again.output
    assert len(emulator.messages()) == 5


def test_part_counting_shortcuts_agree_with_the_unit_by_unit_count() -> None:
    from random import Random

    from smartdialog_sync.sms_parts import (
        GSM7_PART,
        GSM7_SINGLE,
        UCS2_PART,
        UCS2_SINGLE,
        _split_count,
    )

    def by_units(text: str) -> tuple[str, int, int]:
        if all(ch in GSM7_ALL for ch in text):
            sizes, single, per_part, encoding = [2 if ch in "^{}\\[~]|€\f" else 1 for ch in text], GSM7_SINGLE, GSM7_PART, "GSM-7"
        else:
            sizes, single, per_part, encoding = [2 if ord(ch) > 0xFFFF else 1 for ch in text], UCS2_SINGLE, UCS2_PART, "UCS-2"
        return encoding, sum(sizes), _split_count(sizes, single, per_part)

    rng = Random(7)
    alphabets = ["abc ", "ab€[", "aä’", "a😀’", "ab"]
    for _ in range(1000):
        text = "".join(rng.choice(rng.choice(alphabets)) for _ in range(rng.choice([0, 69, 70, 71, 134, 160, 161, 306, 307, 400])))
        counted = count_parts(text)
        assert (counted.encoding, counted.units, counted.parts) == by_units(text), text
