"""Magento's refusals in words: a dead letter's raw reason rewritten as cause and next step.

The stored reason stays raw (it is what Magento said, and what support needs); the API
rewrites it where it is shown, with the raw text one click away. One table, first match wins;
a reason no rule knows keeps its raw text as the cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GROUP_TITLES", "Refusal", "Rule", "explain", "group_of"]


@dataclass(frozen=True)
class Rule:
    """One kind of refusal: how to recognise it, and what to tell a store manager."""

    group: str
    title: str
    pattern: re.Pattern[str]
    cause: str
    next_step: str


@dataclass(frozen=True)
class Refusal:
    """A dead letter's reason as the page shows it."""

    group: str
    title: str
    cause: str
    next_step: str
    raw: str


def _rule(group: str, title: str, pattern: str, cause: str, next_step: str) -> Rule:
    return Rule(group, title, re.compile(pattern, re.IGNORECASE), cause, next_step)


#: First match wins: the specific refusals before the general ones.
RULES: tuple[Rule, ...] = (
    _rule(
        "url_key",
        "URL key already used",
        r"URL key for specified store already exists",
        "Another Magento product already has this record's URL key{holder}.",
        "Give the item its own URL in Counterpoint (the item's URL field, IM_ITEM.URL, sets "
        "the URL key), or change the other product's URL key in Magento; then Retry.",
    ),
    _rule(
        "missing_attribute",
        "Attribute or option missing in Magento",
        r"attribute(Code)? .*doesn't exist|attribute .* does not exist|option that was "
        r"requested doesn't exist|option .* (is )?not (found|exist)|Attribute \"[^\"]+\" has "
        r"invalid value",
        "Magento does not have an attribute or option value this record uses.",
        "Create the attribute (or add the option value) in Magento under Stores > Attributes, "
        "or map the Counterpoint field to an existing one; then Retry.",
    ),
    _rule(
        "unknown_sku",
        "Product not in Magento",
        r"product that was requested doesn't exist|Product with SKU .* does not exist|"
        r"product doesn't exist",
        "Magento has no product with this SKU, so its stock, price or image has nowhere to go.",
        "Sync the item first (Products > Items > Sync Item), or check it is set up for "
        "e-commerce in Counterpoint; then Retry.",
    ),
    _rule(
        "validation",
        "Magento refused a value",
        r"Validation Failed|is a required|invalid|not valid|unable to be saved|"
        r"type is invalid|must be|too long|answered 400|answered 422",
        "Magento refused a value of this record (the raw message names it).",
        "Correct the value in Counterpoint (the raw message says which field), then Retry.",
    ),
    _rule(
        "gave_up",
        "Failed too many times",
        r"^gave up after|moved to the dead-letter queue by SQS",
        "Magento kept failing or timing out on this record.",
        "Check that Magento is up (the dashboard's cards), then Retry.",
    ),
)

GROUP_TITLES: dict[str, str] = {r.group: r.title for r in RULES} | {"other": "Other refusals"}


def group_of(raw: str) -> str:
    """The group a raw reason falls into ("other" when no rule knows it)."""
    return next((r.group for r in RULES if r.pattern.search(raw)), "other")


def explain(raw: str, holder: str | None = None) -> Refusal:
    """Rewrite `raw` as cause and next step; `holder` names the product holding a URL key."""
    for rule in RULES:
        if rule.pattern.search(raw):
            named = f" ({holder})" if holder else ""
            return Refusal(
                rule.group, rule.title, rule.cause.format(holder=named), rule.next_step, raw
            )
    tail = raw.split(": ", 1)[-1] if raw.count(": ") else raw
    return Refusal(
        "other",
        GROUP_TITLES["other"],
        tail[:1].upper() + tail[1:],
        "Fix the cause named here, then Retry; or Discard.",
        raw,
    )
