"""Holdout and A/B variants of a campaign: parsing, deterministic assignment and planning per arm.

Every eligible recipient is assigned from a hash of the campaign id and its address, so a resumed or
re-planned run (on any machine) assigns exactly the same people: `--holdout 10%` keeps that share out of
the send (recorded in the ledger as held out, for uplift), and `--variant LABEL[:WEIGHT]=CONTENT` splits
the rest between contents (or WhatsApp templates) by weight. The assignment is decided at planning time
and written to `campaign_assignments` in the commit that writes the batches; each variant is batched on
its own and its batches are interleaved with the other variants' (A1, B1, A2, B2, ...), so no variant is
sent systematically later than another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from .batches import Batch, Estimate, estimate, seconds_for_calls, with_request_id
from .errors import CampaignInputError
from .recipients import Recipient

LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")
HOLDOUT = "holdout"  # the arm name of held-out recipients (not a usable variant label)
MAX_WEIGHT = 1_000_000
_SCALE = float(2**64)


@dataclass(frozen=True)
class Variant:
    """One content of a campaign: its label, relative weight and the request fields it sets."""

    label: str
    weight: int
    fields: dict[str, Any]


@dataclass(frozen=True)
class Assignment:
    """Where one eligible recipient went: held out, or sent (with its variant; None without variants)."""

    address: str
    variant: str | None
    held_out: bool


@dataclass(frozen=True)
class Arms:
    """A campaign's variants (none: one content) and the share of recipients held out (0: none)."""

    variants: tuple[Variant, ...] = ()
    holdout: float = 0.0

    @property
    def used(self) -> bool:
        """True when the campaign has variants or a holdout (its recipients are assigned)."""
        return bool(self.variants) or self.holdout > 0

    def describe(self) -> dict[str, Any]:
        """The arms as the campaign's description (and so its fingerprint) holds them."""
        return {"holdout": self.holdout,
                "variants": [{"label": v.label, "weight": v.weight, "fields": v.fields} for v in self.variants]}

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> "Arms":
        """The arms a campaign was planned with (none for a campaign without them)."""
        described = description.get("arms") or {}
        variants = tuple(Variant(v["label"], int(v["weight"]), dict(v["fields"])) for v in described.get("variants", ()))
        return cls(variants, float(described.get("holdout", 0.0)))

    def contents(self, single: str) -> dict[str | None, str]:
        """The SMS content of each variant by its label, or without variants `single` (the campaign's one
        content) under None."""
        if self.variants:
            return {v.label: v.fields["content"] for v in self.variants}
        return {None: single}

    def fields_of(self, label: str) -> dict[str, Any]:
        """The request fields of variant `label`."""
        return next(v.fields for v in self.variants if v.label == label)

    def assign(self, campaign_id: str, address: str) -> Assignment:
        """The deterministic arm of `address` in campaign `campaign_id` (two independent hashes)."""
        if self.holdout and _unit(campaign_id, address, HOLDOUT) < self.holdout:
            return Assignment(address, None, True)
        if not self.variants:
            return Assignment(address, None, False)
        point = _unit(campaign_id, address, "variant") * sum(v.weight for v in self.variants)
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return Assignment(address, variant.label, False)
        return Assignment(address, self.variants[-1].label, False)


def _unit(campaign_id: str, address: str, salt: str) -> float:
    """A number in [0, 1) from a hash of the campaign id and the address (`salt` keeps the draws independent)."""
    digest = hashlib.sha256(f"{salt}\x00{campaign_id}\x00{address}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def parse_variant(text: str, option: str = "--variant") -> tuple[str, int | None, str]:
    """`LABEL[:WEIGHT]=VALUE` as (label, weight or None, value); CampaignInputError (exit 2) when malformed."""
    head, sep, value = text.partition("=")
    label, colon, weight_text = head.strip().partition(":")
    if not sep or not value.strip():
        raise CampaignInputError(f"{option} {text!r} must look like LABEL=VALUE or LABEL:WEIGHT=VALUE, e.g. A:70=\"Hi\"")
    if not LABEL.match(label) or label.lower() == HOLDOUT:
        raise CampaignInputError(f"{option} label {label!r} must be 1-16 letters, digits or '_', starting with a letter "
                                 f"(and not {HOLDOUT!r})")
    weight = None
    if colon:
        if not weight_text.isdigit() or not 1 <= int(weight_text) <= MAX_WEIGHT:
            raise CampaignInputError(f"{option} {label}: weight {weight_text!r} must be a whole number from 1 to {MAX_WEIGHT:,}")
        weight = int(weight_text)
    return label, weight, value


def parse_holdout(text: str | None) -> float:
    """`--holdout 10%` (or `10`) as the share 0.10; 0 when not given. Between 0 and 100 % exclusive."""
    if text is None or not text.strip():
        return 0.0
    number = text.strip().removesuffix("%").strip()
    try:
        percent = float(number)
    except ValueError:
        raise CampaignInputError(f"--holdout {text!r} must be a percentage, e.g. 10%") from None
    if not 0 < percent < 100:
        raise CampaignInputError(f"--holdout {text!r} must be more than 0% and less than 100%")
    return round(percent / 100, 6)


def build_arms(variant_texts: Sequence[str], holdout: str | None, field: str,
               resolve: Callable[[str], str] = lambda value: value) -> Arms:
    """The arms of the options: each `--variant` sets request field `field` to `resolve(value)`.

    At least two variants with distinct labels; weights on every variant or on none (then equal).
    """
    parsed = [parse_variant(text) for text in variant_texts]
    if len(parsed) == 1:
        raise CampaignInputError("give at least two --variant options (a single content is --content / --template)")
    labels = [label for label, _, _ in parsed]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise CampaignInputError(f"--variant label(s) {', '.join(repeated)} given more than once")
    weights = [weight for _, weight, _ in parsed]
    if any(weight is None for weight in weights) and any(weight is not None for weight in weights):
        raise CampaignInputError("give a weight to every --variant or to none (then they are equal)")
    variants = tuple(Variant(label, weight or 1, {field: resolve(value)}) for label, weight, value in parsed)
    return Arms(variants, parse_holdout(holdout))


def arms_of_options(single: str | None, variant_texts: Sequence[str] | None, holdout: str | None, option: str,
                    field: str, resolve: Callable[[str], str] = lambda value: value) -> Arms:
    """The arms of a command's options: exactly one of the single message option (`--content`, `--template`) and
    two or more `--variant`s, and an optional `--holdout`."""
    if bool(single) == bool(variant_texts):
        raise CampaignInputError(f"give {option} or at least two --variant options (not both)")
    if variant_texts:
        return build_arms(variant_texts, holdout, field, resolve)
    return Arms(holdout=parse_holdout(holdout))


def sms_arms(content: str | None, variant_texts: Sequence[str] | None, holdout: str | None, option: str,
             gsm_safe: Callable[[str], str] | None = None) -> tuple[str | None, Arms]:
    """The SMS content and arms of a send's options (as `arms_of_options`); `gsm_safe` (--gsm-safe: e.g.
    `make_gsm_safe`) rewrites the content and each variant's text first."""
    if gsm_safe is not None and content:
        content = gsm_safe(content)
    return content, arms_of_options(content, variant_texts, holdout, option, "content", resolve=gsm_safe or str)


def split_recipients(arms: Arms, campaign_id: str, recipients: Sequence[Recipient]
                     ) -> tuple[list[Assignment], dict[str | None, list[Recipient]]]:
    """Every recipient's assignment, and the recipients to send to per variant (key None without variants)."""
    assignments = [arms.assign(campaign_id, r.address) for r in recipients]
    groups: dict[str | None, list[Recipient]] = {v.label: [] for v in arms.variants} or {None: []}
    for recipient, assignment in zip(recipients, assignments, strict=True):
        if not assignment.held_out:
            groups[assignment.variant].append(recipient)
    return assignments, groups


def interleave(kind: str, campaign_id: str, planned: Mapping[str, list[Batch]]) -> list[Batch]:
    """The variants' batches as one list: by send time, then alternating between variants, numbered from 1.

    Each batch gets its variant and a RequestId for its final number (the same plan always numbers alike).
    """
    order = sorted(
        ((batch.send_at or "", index, rank, label, batch)
         for rank, (label, batches) in enumerate(planned.items()) for index, batch in enumerate(batches)),
        key=lambda item: item[:3],
    )
    return [with_request_id(kind, campaign_id, replace(batch, batch_no=number, variant=label))
            for number, (_, _, _, label, batch) in enumerate(order, start=1)]


@dataclass(frozen=True)
class ArmFigures:
    """What the plan shows for one arm: its recipients and, for a variant, its estimate."""

    arm: str
    weight: int | None
    recipients: int
    figures: Estimate | None


def arm_figures(arms: Arms, batches: Sequence[Batch], held_out: int, limit_calls: int, limit_seconds: float,
                kind: str) -> list[ArmFigures]:
    """Per variant (recipients, parts, encodings, calls), then the holdout; empty without arms."""
    rows = []
    for variant in arms.variants:
        own = [batch for batch in batches if batch.variant == variant.label]
        content = variant.fields.get("content") if kind == "sms" else None
        figures = estimate(own, content, limit_calls, limit_seconds)
        rows.append(ArmFigures(variant.label, variant.weight, figures.recipients, figures))
    if arms.holdout:
        rows.append(ArmFigures(HOLDOUT, None, held_out, None))
    return rows


def combined(rows: Sequence[ArmFigures], limit_calls: int, limit_seconds: float) -> Estimate:
    """The whole campaign's estimate from its variants' estimates."""
    parts = [row.figures for row in rows if row.figures is not None]
    histogram: dict[int, int] = {}
    encodings: dict[str, int] = {}
    for figures in parts:
        for key, count in figures.parts_histogram.items():
            histogram[key] = histogram.get(key, 0) + count
        for name, count in figures.encodings.items():
            encodings[name] = encodings.get(name, 0) + count
    totals = [figures.total_parts for figures in parts]
    calls = sum(figures.calls for figures in parts)
    return Estimate(
        recipients=sum(figures.recipients for figures in parts),
        total_parts=None if any(total is None for total in totals) else sum(t for t in totals if t is not None),
        parts_histogram=dict(sorted(histogram.items())), encodings=encodings, calls=calls,
        seconds=seconds_for_calls(calls, limit_calls, limit_seconds),
    )


def arm_lines(arms: Arms, rows: Sequence[ArmFigures], total: int) -> list[str]:
    """The plan's lines on the arms: the assignment rule, then one line per variant and the holdout."""
    if not arms.used:
        return []
    lines = ["  assignment: by a hash of the campaign id and the number (the same on every re-plan and resume)"]
    for row in rows:
        share = f"{100 * row.recipients / total:.1f} %" if total else "-"
        if row.figures is None:
            lines.append(f"  holdout {100 * arms.holdout:g} %: {row.recipients:,} recipient(s) ({share}) not sent, "
                         "recorded as held out")
            continue
        figures = row.figures
        text = f"  variant {row.arm} (weight {row.weight}): {row.recipients:,} recipient(s) ({share}), {figures.calls:,} call(s)"
        if figures.total_parts is not None:
            encodings = ", ".join(f"{name} {count:,}" for name, count in sorted(figures.encodings.items()))
            text += f", {figures.total_parts:,} SMS part(s) ({encodings})"
        lines.append(text)
    return lines
