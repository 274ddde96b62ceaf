"""Which family a model belongs to, from its name: a judge from the drafting model's own
family tends to like its own answers, so runs compare families, not model names.

A small table of known providers' name patterns; the admin can always correct the
guess on the endpoint. GPT-3.5 and GPT-4 (and OpenAI's o-series) are one family.
"""

from __future__ import annotations

import re

# (pattern on the lower-cased model name, family), first match wins. Names from local
# servers carry prefixes and tags ("meta-llama/Llama-3.1-8B", "qwen2.5:7b"), so the
# patterns look for the family word anywhere in the name.
FAMILIES: tuple[tuple[str, str], ...] = (
    (r"(^|[/:_\-\s])(gpt|chatgpt|davinci|babbage)|(^|[/:])o[134]([\-:_.]|$)", "openai"),
    (r"claude", "anthropic"),
    (r"llama", "llama"),
    (r"mistral|mixtral|codestral|ministral|pixtral", "mistral"),
    (r"qwen|qwq", "qwen"),
    (r"gemma|gemini|palm", "google"),
    (r"deepseek", "deepseek"),
    (r"(^|[/:_\-\s])phi", "microsoft"),
    (r"command|cohere|aya", "cohere"),
)
KNOWN = sorted({family for _, family in FAMILIES})


def guess_family(model: str) -> str:
    """The family of ``model`` by its name, or "" when the table does not know it."""
    name = (model or "").strip().lower()
    for pattern, family in FAMILIES:
        if re.search(pattern, name):
            return family
    return ""


def same_family(a: str, b: str) -> bool:
    """Whether two families (as stored on endpoints) are the same; blank is unknown,
    never equal to anything."""
    a, b = (a or "").strip().lower(), (b or "").strip().lower()
    return bool(a) and a == b
