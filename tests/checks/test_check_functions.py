"""Each check function on its own: true positives and the look-alikes it must not flag."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks.registry import REGISTRY, CheckContext, Duplicate
from checks.registry.duplicates import band_keys, jaccard, signature, similarity
from checks.registry.pii import find_pii, iban_ok, luhn_ok, redact
from checks.registry.structure import count_tokens

CTX = CheckContext()


def pair(answer: str, prompt: str = "How do I reset my password?") -> list[dict[str, Any]]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def run(name: str, messages: Any, context: CheckContext = CTX, **options: Any) -> Any:
    return REGISTRY[name].run(messages, context, options)


GOOD = "Open Settings, choose Security and click “Reset password”. We email you a link."


def test_every_check_passes_a_good_pair() -> None:
    for name, check in REGISTRY.items():
        if check.needs_config:
            continue
        verdict = run(name, pair(GOOD))
        assert not verdict.failed, (name, verdict.message)


# --- format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], "no messages"),
        ([{"role": "user", "content": "Hi"}], "must end with an assistant"),
        ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  "}], "is empty"),
        (
            [
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "c"},
            ],
            "must alternate",
        ),
        (
            [
                {"role": "user", "content": "a"},
                {"role": "system", "content": "b"},
                {"role": "assistant", "content": "c"},
            ],
            "only the first",
        ),
        ([{"role": "assistant", "content": "a"}], "must start with the user"),
        ([{"role": "bot", "content": "a"}], "unknown role"),
    ],
)
def test_format_problems(messages: Any, expected: str) -> None:
    verdict = run("format", messages)
    assert verdict.failed
    assert expected in verdict.message


def test_format_accepts_system_first_and_multi_turn() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": "You're welcome."},
    ]
    assert not run("format", messages).failed


# --- length ---------------------------------------------------------------------------


def test_tokens_are_counted_with_the_real_cl100k_and_o200k_tables() -> None:
    # Known token ids from OpenAI's published tables: "Hello world" is [9906, 1917] in cl100k.
    from checks.registry.structure import encoding

    assert encoding("cl100k_base").encode_ordinary("Hello world") == [9906, 1917]
    assert encoding("o200k_base").encode_ordinary("Hello world") == [13225, 2375]
    assert count_tokens("Hello world") == 2


def test_length_bounds() -> None:
    assert run("length", pair("ok"), min_chars=5).failed
    assert "maximum is 10" in run("length", pair("x" * 11), max_chars=10).message
    long = "word " * 300
    verdict = run("length", pair(long), max_tokens=100)
    assert verdict.failed and "tokens" in verdict.message
    assert verdict.details["tokens"] > 300
    assert not run("length", pair(long), max_tokens=1000).failed
    assert run("length", pair("Yes."), min_tokens=5).failed


# --- placeholder ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Dear {{customer_name}}, your order shipped.",
        "Lorem ipsum dolor sit amet.",
        "TODO: explain the refund policy.",
        "Contact us at [insert phone number] for help.",
        "Steps: open the app and then go to the",
        "Here is the code:\n```python\nprint('hi')\n",
        "The main reasons are cost, speed,",
        "He paused for a moment;",
        "Some people like tea (green or black);",
        "Here is the code:\n```js\nconsole.log(x);\n",
    ],
)
def test_placeholder_true_positives(answer: str) -> None:
    assert run("placeholder", pair(answer)).failed


@pytest.mark.parametrize(
    "answer",
    [
        'Use `{name}` in Python f-strings, like f"{name}".',
        "The todo list app lets you add tasks.",
        "Done",
        "Here is a table:\n| a | b |\n|---|---|\n| 1 | 2 |",
        "```python\nprint('hi')\n```",
        "Arrays use square brackets: [1, 2, 3].",
        "I love it :)",
        # Finished code is not cut off: a closed fence, or a code statement ending in ";".
        "var newDate = new Date();\nconsole.log(newDate.toLocaleString());",
        "```js\nconsole.log(currentDateTime);\n```",
        "Run:\n\n    total = add(1, 2);",
        "SELECT name FROM users WHERE age > 30;",
        "std::cout << x << std::endl;",
        "return total;",
        "i++;",
    ],
)
def test_placeholder_false_positives(answer: str) -> None:
    verdict = run("placeholder", pair(answer))
    assert not verdict.failed, verdict.message


def test_finished_javascript_from_self_instruct_is_not_truncated() -> None:
    from tests.services import require_datasets

    lines = (require_datasets() / "self-instruct_seed_tasks.jsonl").read_text().splitlines()
    task = next(json.loads(line) for line in lines if '"seed_task_140"' in line)
    answer = task["instances"][0]["output"]
    assert answer.endswith("console.log(currentDateTime);")
    verdict = run("placeholder", pair(answer, task["instruction"]))
    assert not verdict.failed, verdict.message


# --- PII ------------------------------------------------------------------------------


def test_luhn_and_iban_checksums() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert iban_ok("DE89370400440532013000")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Write to jane.doe@example.com today.", "email"),
        ("Call me on +44 20 7946 0958 tomorrow.", "phone"),
        ("My number is (415) 555-2671.", "phone"),
        ("Card 4111 1111 1111 1111 exp 12/29", "card"),
        ("Pay to DE89 3704 0044 0532 0130 00 please", "iban"),
        ("The server is at 8.8.4.4 now", "ip"),
        ("key = AKIAIOSFODNN7EXAMPLE", "secret"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "secret"),
        ("export OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234567890", "secret"),
        ('api_key: "a8f5f167f44f4964e6c998dee827110c"', "secret"),
    ],
)
def test_pii_true_positives(text: str, kind: str) -> None:
    kinds = {s["kind"] for s in find_pii(text)}
    assert kind in kinds


@pytest.mark.parametrize(
    "text",
    [
        "The year 2024 had 366 days.",
        "Order number 4111111111111112 is invalid.",  # fails Luhn
        "Your router is at 192.168.1.1.",  # private address: not personal
        "Version 1.2.3.4 fixed it.",
        "GB82 WEST 1234 5698 7654 33 is not valid",  # IBAN checksum fails
        "Use the email field on the form.",
        "Call 911 in an emergency.",
        "The recipe needs 250 grams of flour and 2 eggs.",
        # A long decimal passes Luhn by chance and parses as a number: it is a measurement.
        "The fine-structure constant is 0.0072973525693, or about 1/137.",
    ],
)
def test_pii_false_positives(text: str) -> None:
    assert find_pii(text) == []


def test_redact_replaces_spans_with_typed_placeholders() -> None:
    text = "Mail jane@example.com or call +1 415-555-2671, card 4111-1111-1111-1111."
    assert redact(text) == "Mail [EMAIL] or call [PHONE], card [CARD_NUMBER]."


def test_pii_scans_the_answer_by_default_and_everything_on_request() -> None:
    messages = pair("Sure, I can help.", prompt="I am jane@example.com")
    assert not run("pii", messages).failed
    verdict = run("pii", messages, scope="all")
    assert verdict.failed and verdict.details["spans"][0]["kind"] == "email"


# --- toxicity, refusal, language ------------------------------------------------------


def test_toxicity_finds_listed_terms_and_respects_word_boundaries() -> None:
    assert run("toxicity", pair("That is bullshit.")).failed
    assert run("toxicity", pair("What a sh1t idea.")).failed
    assert not run("toxicity", pair("Scunthorpe is a town; assess the class.")).failed
    assert run("toxicity", pair("Our rival Foocorp is great."), extra_terms=["foocorp"]).failed
    assert not run("toxicity", pair("That is bullshit."), allowed_terms=["bullshit"]).failed


def test_refusal_boilerplate() -> None:
    assert run("refusal", pair("As an AI language model, I cannot browse.")).failed
    assert run("refusal", pair("I'm sorry, but I can't help with that.")).failed
    assert not run("refusal", pair("The model of this car is a Civic.")).failed
    assert not run("refusal", pair("You cannot reset it without the email.")).failed


def test_language_matches_the_project() -> None:
    french = (
        "Pour réinitialiser votre mot de passe, ouvrez les paramètres et cliquez sur le lien. "
        "Si vous ne recevez rien, vérifiez le dossier des courriers indésirables."
    )
    verdict = run("language", pair(french))
    assert verdict.failed and verdict.details["detected"] == "fr"
    assert not run("language", pair(french), CheckContext(language="fr")).failed
    assert not run("language", pair("OK, done.")).failed  # too short to tell
    assert not run(
        "language", pair("85 degrees Fahrenheit is equal to 29.44 degrees Celsius.")
    ).failed


def test_language_is_not_fooled_by_lists_of_foreign_names() -> None:
    dishes = (
        "- Ragu alla Bolognese\n- Risotto alla Milanese\n- Spaghetti alla Carbonara\n"
        "- Pizza Napoletana\n- Arancini\n- Bistecca alla Fiorentina\n- Polenta\n- Ossobuco\n"
        "- Tiramisu\n- Lasagne alla Bolognese\n- Gelato"
    )
    sights = (
        "- Tour the Palace of Versailles\n- Stroll through the Jardin des Tuileries\n"
        "- Visit the Arc de Triomphe\n- Explore the Montmartre district\n"
        "- Visit Sacré-Cœur Basilica\n- Walk along the Canal Saint-Martin"
    )
    for text in (dishes, sights):
        verdict = run("language", pair(text))
        assert not verdict.failed, verdict.message
    italian = (
        "Per preparare il ragù alla bolognese serve molta pazienza: la carne deve cuocere a "
        "fuoco lento per almeno tre ore, mescolando di tanto in tanto e aggiungendo brodo."
    )
    assert run("language", pair(italian)).details["detected"] == "it"
    assert run("language", pair(italian)).failed


# --- rubber stamp and project rules -----------------------------------------------------


def test_rubber_stamp_only_in_correct_tasks() -> None:
    draft = "The capital of Australia is Sydney."
    correct = CheckContext(task_type="correct", model_draft=draft)
    assert run("rubber_stamp", pair(draft), correct).failed
    assert run("rubber_stamp", pair(" The capital of  Australia is Sydney. "), correct).failed
    assert not run("rubber_stamp", pair("The capital of Australia is Canberra."), correct).failed
    assert not run(
        "rubber_stamp", pair(draft), CheckContext(task_type="write", model_draft=draft)
    ).failed
    small_edit = run(
        "rubber_stamp", pair("The capital of Australia is Sydney!"), correct, min_edit_ratio=0.2
    )
    assert small_edit.failed and "Only" in small_edit.message


def test_project_rules() -> None:
    assert run("required_prefix", pair("Hello"), prefix="CloudSync Pro Support:").failed
    assert not run(
        "required_prefix", pair("CloudSync Pro Support: Hello"), prefix="CloudSync Pro Support:"
    ).failed
    assert run("forbidden_phrases", pair("Just restart it, LOL."), phrases=["lol"]).failed
    assert not run("forbidden_phrases", pair("Restart it."), phrases=["lol"]).failed
    assert run("regex", pair("No ticket"), pattern=r"Ticket #\d+").failed
    assert not run("regex", pair("See Ticket #42"), pattern=r"Ticket #\d+").failed
    assert run("regex", pair("call 555"), pattern=r"\d{3}", mode="forbid").failed
    assert run("json", pair("{'a': 1}")).failed
    assert not run("json", pair('{"a": 1}')).failed
    assert not run("json", pair('```json\n{"a": 1}\n```')).failed
    assert run("json", pair("[1, 2]"), top_level="object").failed


# --- duplicates -----------------------------------------------------------------------


def test_minhash_signatures_find_near_duplicates_not_strangers() -> None:
    a = "To reset your password open Settings choose Security and click Reset password then follow the link we email you within the hour"
    b = a.replace("within the hour", "within one hour")
    c = "Bananas are rich in potassium and make a good snack before running because they digest quickly and taste sweet"
    sa, sb, sc = signature(a), signature(b), signature(c)
    assert jaccard(a, b) > 0.7 and similarity(sa, sb) > 0.6
    assert set(band_keys(sa)) & set(band_keys(sb))
    assert not set(band_keys(sa)) & set(band_keys(sc))
    assert signature(a.upper()) == sa  # case does not matter


def test_duplicate_checks_read_the_candidates_the_service_found() -> None:
    exact = CheckContext(duplicates=(Duplicate(7, 1.0, exact=True, what="prompt"),))
    verdict = run("exact_duplicate", pair(GOOD), exact)
    assert verdict.failed and "item #7" in verdict.message
    assert not run("exact_duplicate", pair(GOOD), exact, same_prompt=False).failed
    near = CheckContext(duplicates=(Duplicate(9, 0.86),))
    assert "item #9 (86% similar)" in run("near_duplicate", pair(GOOD), near).message
    assert not run("near_duplicate", pair(GOOD), near, threshold=0.9).failed


def test_duplicate_answer_reads_the_copied_answers_the_service_found() -> None:
    copied = CheckContext(
        duplicates=(
            Duplicate(4, 1.0, exact=True, what="prompt"),  # the exact-duplicate check's
            Duplicate(7, 1.0, exact=True, what="answer"),
            Duplicate(9, 0.93, what="answer"),
        )
    )
    verdict = run("duplicate_answer", pair(GOOD), copied)
    assert verdict.failed and "item #7" in verdict.message
    assert verdict.details["duplicate_of"] == 7
    assert [d["item"] for d in verdict.details["items"]] == [7, 9]
    near = CheckContext(duplicates=(Duplicate(9, 0.93, what="answer"),))
    assert "item #9" in run("duplicate_answer", pair(GOOD), near).message
    assert not run("duplicate_answer", pair(GOOD), near, threshold=0.95).failed
    # Short answers are not compared; the conversation checks ignore answer copies.
    assert not run("duplicate_answer", pair("Thank you!"), copied).failed
    answers_only = CheckContext(duplicates=(Duplicate(7, 1.0, exact=True, what="answer"),))
    assert not run("exact_duplicate", pair(GOOD), answers_only).failed
    assert not run("near_duplicate", pair(GOOD), answers_only).failed


def test_answer_band_keys_never_meet_the_conversations() -> None:
    sig = signature(GOOD)
    assert not set(band_keys(sig)) & set(band_keys(sig, namespace=10))
