"""Personal data and secrets: emails, phone numbers, payment cards (Luhn), IBANs
(mod-97), IP addresses, API keys; and the redact action that replaces them with typed
placeholders such as ``[EMAIL]``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Protocol

from checks.registry.base import CheckContext, Messages, Verdict

PLACEHOLDER = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD_NUMBER]",
    "iban": "[IBAN]",
    "ip": "[IP_ADDRESS]",
    "secret": "[SECRET]",
}
LABEL = {
    "email": "an email address",
    "phone": "a phone number",
    "card": "a payment card number",
    "iban": "an IBAN",
    "ip": "an IP address",
    "secret": "an API key or secret",
}

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])")
VERSION_BEFORE = re.compile(r"(?:\bversion|\bv|\bver\.?|release)\s*$", re.IGNORECASE)
PHONE_HINT = re.compile(r"\+?\(?\d[\d\s().-]{6,}\d")
SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "GitHub token",
        re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{22,255}\b"),
    ),
    ("OpenAI-style key", re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b")),
    ("Stripe key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    (
        "JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"),
    ),
    (
        "secret assignment",
        re.compile(
            r"(?i)\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token|password|passwd)\b"
            r"\s*[:=]\s*[\"']?(?=[A-Za-z0-9_\-+/]*\d)(?=[A-Za-z0-9_\-+/]*[A-Za-z])[A-Za-z0-9_\-+/]{16,}[\"']?"
        ),
    ),
)


# Cheap substring tests that must pass before a secret pattern is tried at all.
SECRET_HINTS = {
    "AWS access key": ("AKIA", "ASIA"),
    "GitHub token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "OpenAI-style key": ("sk-",),
    "Stripe key": ("_live_", "_test_"),
    "Slack token": ("xox",),
    "Google API key": ("AIza",),
    "private key": ("-----BEGIN",),
    "JSON web token": ("eyJ",),
}
ASSIGNMENT_HINTS = ("key", "secret", "token", "passw")
# Any stretch that could be a card, phone number or IPv4 address: one cheap pass.
NUMBERISH = re.compile(r"[+(]?\d[\d .()/-]{5,}\d")
IBAN_START = re.compile(r"[A-Z]{2}\d{2}")
# A decimal number ("0.0072973525693", "3.14159265") is a measurement, not a phone or
# card number.
DECIMAL = re.compile(r"\d+\.\d+")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# IBAN lengths per country (ISO 13616 registry).
IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26,
    "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(candidate: str) -> bool:
    iban = candidate.replace(" ", "").upper()
    if IBAN_LENGTH.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _ip_is_personal(text: str, include_private: bool) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if include_private:
        return not address.is_unspecified
    return address.is_global


class _Add(Protocol):
    def __call__(self, kind: str, start: int, end: int, label: str | None = None) -> None: ...


def _secrets(text: str, add: _Add) -> None:
    lowered = text.lower()
    for name, pattern in SECRETS:
        hints = SECRET_HINTS.get(name)
        if hints is None:
            if not any(h in lowered for h in ASSIGNMENT_HINTS):
                continue
        elif not any(h in text for h in hints):
            continue
        for m in pattern.finditer(text):
            add("secret", m.start(), m.end(), f"an API key or secret ({name})")


def _emails(text: str, add: _Add) -> None:
    if "@" in text:
        for m in EMAIL.finditer(text):
            add("email", m.start(), m.end())


def _ibans(text: str, add: _Add) -> None:
    if IBAN_START.search(text):
        for m in IBAN.finditer(text):
            if iban_ok(m.group(0)):
                add("iban", m.start(), m.end())


def _ipv6(text: str, options: Mapping[str, Any], add: _Add) -> None:
    if ":" in text and IPV6.search(text):
        include_private = bool(options.get("include_private_ips", False))
        for m in IPV6.finditer(text):
            if _ip_is_personal(m.group(0), include_private):
                add("ip", m.start(), m.end())


def _cards(window: str, left: int, add: _Add) -> None:
    for m in CARD.finditer(window):
        number = re.sub(r"\D", "", m.group(0))
        if 13 <= len(number) <= 19 and luhn_ok(number) and len(set(number)) > 1:
            add("card", left + m.start(), left + m.end())


def _ipv4(text: str, window: str, left: int, options: Mapping[str, Any], add: _Add) -> None:
    include_private = bool(options.get("include_private_ips", False))
    for m in IPV4.finditer(window):
        start = left + m.start()
        if VERSION_BEFORE.search(text[max(0, start - 12) : start]):
            continue  # "version 1.2.3.4" is a version number
        if _ip_is_personal(m.group(0), include_private):
            add("ip", start, left + m.end())


def _phones(window: str, left: int, options: Mapping[str, Any], add: _Add) -> None:
    import phonenumbers  # thorough but slow: only on stretches that could be a number

    region = str(options.get("region") or "US").upper()
    for match in phonenumbers.PhoneNumberMatcher(
        window, region, leniency=phonenumbers.Leniency.VALID
    ):
        add("phone", left + match.start, left + match.end)


def _numbers(
    text: str, stretch: re.Match[str], kinds: set[str], options: Mapping[str, Any], add: _Add
) -> None:
    """Cards, IPv4 addresses and phone numbers inside one stretch of digits."""
    left = max(0, stretch.start() - 2)
    window = text[left : stretch.end() + 2]
    digits = sum(c.isdigit() for c in stretch.group(0))
    decimal = DECIMAL.fullmatch(stretch.group(0)) is not None
    if "card" in kinds and digits >= 13 and not decimal:
        _cards(window, left, add)
    if "ip" in kinds and "." in window:
        _ipv4(text, window, left, options, add)
    if "phone" in kinds and 7 <= digits <= 15 and not decimal:
        _phones(window, left, options, add)


def _without_overlaps(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans by position, the longest first where two start together; a span that
    overlaps one already kept is dropped (a card number is not also a phone number)."""
    spans.sort(key=lambda s: (s["start"], -(s["end"] - s["start"])))
    merged: list[dict[str, Any]] = []
    for span in spans:
        if merged and span["start"] < merged[-1]["end"]:
            continue
        merged.append(span)
    return merged


def find_pii(text: str, options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Spans of personal data or secrets in ``text``: ``{kind, start, end, text, label}``,
    sorted and not overlapping."""
    options = options or {}
    kinds = set(options.get("kinds") or PLACEHOLDER)
    spans: list[dict[str, Any]] = []

    def add(kind: str, start: int, end: int, label: str | None = None) -> None:
        spans.append(
            {
                "kind": kind,
                "start": start,
                "end": end,
                "text": text[start:end],
                "label": label or LABEL[kind],
            }
        )

    # The order matters: of two spans with the same start and length, the first found is kept.
    if "secret" in kinds:
        _secrets(text, add)
    if "email" in kinds:
        _emails(text, add)
    if "iban" in kinds:
        _ibans(text, add)
    if "ip" in kinds:
        _ipv6(text, options, add)
    for stretch in NUMBERISH.finditer(text):
        _numbers(text, stretch, kinds, options, add)
    return _without_overlaps(spans)


def redact(text: str, options: Mapping[str, Any] | None = None) -> str:
    """``text`` with every personal-data span replaced by its typed placeholder."""
    out = []
    position = 0
    for span in find_pii(text, options):
        out.append(text[position : span["start"]])
        out.append(PLACEHOLDER[span["kind"]])
        position = span["end"]
    out.append(text[position:])
    return "".join(out)


def redact_messages(messages: Messages, options: Mapping[str, Any] | None = None) -> Messages:
    roles = _roles(options or {})
    return [
        {**m, "content": redact(str(m.get("content") or ""), options)}
        if isinstance(m, dict) and m.get("role") in roles
        else m
        for m in messages
    ]


def _roles(options: Mapping[str, Any]) -> tuple[str, ...]:
    return ("system", "user", "assistant") if options.get("scope") == "all" else ("assistant",)


def check_pii(messages: Messages, context: CheckContext, options: Mapping[str, Any]) -> Verdict:
    """No personal data or secrets in the answer (or anywhere, with scope "all")."""
    roles = _roles(options)
    found = []
    for index, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") in roles:
            for span in find_pii(str(message.get("content") or ""), options):
                found.append({**span, "message": index})
    if not found:
        return Verdict.ok("No personal data or secrets found.")
    kinds = sorted({s["label"] for s in found})
    return Verdict.problem(
        f"Possible personal data: {', '.join(kinds)} (“{found[0]['text']}”). Redact it before submitting.",
        spans=found,
        redactable=True,
    )
