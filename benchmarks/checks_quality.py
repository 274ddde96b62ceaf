"""Quality of the automated checks on a planted-defect corpus.

Clean pairs come from the shared third-party datasets (read in place, never copied):
Self-Instruct seed tasks, FastChat dummy conversations and Open-Assistant first replies, exact duplicates
removed. Each defective pair is a clean pair with exactly one planted defect of one
kind. Every pair goes through the same code the worker runs: the project's default
configuration, ``checks.services.evaluate``, and for duplicates the real index
(``find_duplicates`` / ``index_item``) in a scratch database.

Prints recall per defect kind and the false-positive rate on the clean pairs.

    python benchmarks/checks_quality.py            # scratch SQLite database
    DATABASE_URL=postgres://… python benchmarks/checks_quality.py
    python benchmarks/checks_quality.py --show-false   # also print each flagged clean pair
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("DATASETS", ROOT.parent / "shared" / "datasets"))
sys.path.insert(0, str(ROOT))
_scratch = tempfile.mkdtemp(prefix="checks-quality-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_scratch}/db.sqlite3")
os.environ.setdefault("SECRET_KEY", "not-a-secret-only-for-this-run-0123456789abcdefghijklmnopq")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

Messages = list[dict[str, str]]
PER_KIND = 45
RNG = random.Random(20261122)


# --- clean pairs from the shared datasets ---------------------------------------------------


def _pair(prompt: str, answer: str, system: str = "") -> Messages:
    messages = [{"role": "system", "content": system}] if system else []
    return [
        *messages,
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": answer},
    ]


# Answers with these phrases are the defect the refusal check exists for; the source data
# has some (FastChat's dummy set, a few Open-Assistant replies), so they are not "clean".
BOILERPLATE = (
    "as an ai",
    "as a language model",
    "as a large language model",
    "i am an ai",
    "i'm an ai",
)


def clean_pairs() -> tuple[list[Messages], list[Messages]]:
    """Clean pairs of a first project, and of a second project that got other answers to
    some of the same prompts (a prompt is unique within each project)."""
    pairs: list[Messages] = []
    second: list[Messages] = []
    for line in (DATASETS / "self-instruct_seed_tasks.jsonl").read_text().splitlines():
        row = json.loads(line)
        instance = row["instances"][0]
        prompt = row["instruction"] + ("\n" + instance["input"] if instance["input"] else "")
        pairs.append(_pair(prompt, instance["output"]))
    # Not LLaMA-Factory's identity file: its answers are templated near-copies of each
    # other by design (and half are in Chinese), so it holds no clean pairs to speak of.
    # Nor FastChat's dummy conversations: 500 variations of a few templates, near-copies
    # of each other by construction.
    for line in (DATASETS / "oasst_en_100_tree.jsonl").read_text().splitlines():
        # Every prompter message of the tree with the conversation that led to it and its
        # first reply: single- and multi-turn pairs.
        stack: list[tuple[dict[str, Any], Messages]] = [(json.loads(line)["prompt"], [])]
        while stack:
            node, history = stack.pop()
            role = "user" if node["role"] == "prompter" else "assistant"
            here = [*history, {"role": role, "content": node["text"]}]
            replies = node.get("replies", [])
            if role == "user" and replies:
                # As a single-turn pair: branches of one conversation share their history.
                pairs.append(_pair(node["text"], replies[0]["text"]))
                if len(replies) > 1:  # another annotator's answer, in a second project
                    second.append(_pair(node["text"], replies[1]["text"]))
            stack.extend((reply, here) for reply in replies)
    return _screen(pairs), _screen(second)


def _screen(pairs: list[Messages]) -> list[Messages]:
    # One pair per prompt (a repeated prompt is a real duplicate), English only (the
    # project's language; the identity file also holds Chinese pairs).
    seen: set[str] = set()
    unique = []
    for messages in pairs:
        key = " ".join(" ".join(m["content"] for m in messages[:-1]).lower().split())
        text = " ".join(m["content"] for m in messages)
        letters = [c for c in text if c.isalpha()]
        latin = sum(c.isascii() for c in letters) / max(1, len(letters))
        boilerplate = any(b in messages[-1]["content"].lower() for b in BOILERPLATE)
        if (
            key not in seen
            and latin > 0.9
            and not boilerplate
            and all(m["content"].strip() for m in messages)
        ):
            seen.add(key)
            unique.append(messages)
    return unique


# --- planted defects ------------------------------------------------------------------------


FOREIGN = [
    (
        "fr",
        "Pour réinitialiser votre mot de passe, ouvrez les paramètres, choisissez Sécurité puis suivez le lien que nous vous envoyons par courriel.",
    ),
    (
        "de",
        "Um Ihr Passwort zurückzusetzen, öffnen Sie die Einstellungen, wählen Sie Sicherheit und folgen Sie dem Link in der E-Mail.",
    ),
    (
        "es",
        "Para restablecer su contraseña, abra la configuración, elija Seguridad y siga el enlace que le enviamos por correo.",
    ),
    (
        "it",
        "Per reimpostare la password, apri le impostazioni, scegli Sicurezza e segui il collegamento che ti inviamo via email.",
    ),
    (
        "pt",
        "Para redefinir sua senha, abra as configurações, escolha Segurança e siga o link que enviamos para o seu e-mail.",
    ),
    (
        "nl",
        "Om je wachtwoord opnieuw in te stellen, open je de instellingen, kies je Beveiliging en volg je de link in de e-mail.",
    ),
    (
        "sv",
        "För att återställa ditt lösenord öppnar du inställningarna, väljer Säkerhet och följer länken i e-postmeddelandet.",
    ),
    (
        "pl",
        "Aby zresetować hasło, otwórz ustawienia, wybierz Bezpieczeństwo i kliknij link, który wyślemy e-mailem.",
    ),
]
PII = [
    "You can reach me at maria.lopez@example.com if anything is unclear.",
    "Call our office on +1 415-555-2671 during business hours.",
    "My card number is 4539 1488 0343 6467, expiring next year.",
    "Please transfer the amount to DE89 3704 0044 0532 0130 00.",
    "The production server listens on 52.14.201.7 port 443.",
    "Use the key AKIAIOSFODNN7EXAMPLE with the matching secret.",
    "Set OPENAI_API_KEY=sk-proj-4fGh7KlmN0pQrStUvWxYz1234567890abc in your shell.",
    "Our London desk is on +44 20 7946 0958.",
    "Authenticate with ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 as the token.",
]
TOXIC = [
    "Honestly, only an idiot would ask this, you moron.",
    "What a load of bullshit.",
    "Shut up and read the manual, dumbass.",
    "This is shit advice but here goes.",
]
REFUSALS = [
    "As an AI language model, I do not have personal opinions, but ",
    "I'm sorry, but I can't help with that. ",
    "As a large language model, I cannot browse the internet. ",
    "I am an AI and I don't have feelings, however ",
]
PLACEHOLDERS = [
    " TODO: add the details here.",
    " Lorem ipsum dolor sit amet.",
    " Dear {{customer_name}}, thanks!",
    " See [insert link here] for more.",
    " Contact <your email> for help.",
]


FOREIGN = [
    (code, text + " " + more)
    for (code, text), more in zip(
        FOREIGN,
        [
            "Si vous ne recevez rien, vérifiez le dossier des courriers indésirables.",
            "Falls nichts ankommt, sehen Sie bitte im Spam-Ordner nach.",
            "Si no recibe nada, revise la carpeta de correo no deseado.",
            "Se non ricevi nulla, controlla la cartella della posta indesiderata.",
            "Se não receber nada, verifique a pasta de spam.",
            "Als je niets ontvangt, kijk dan in je map met ongewenste e-mail.",
            "Om inget kommer fram, titta i skräppostmappen.",
            "Jeśli nic nie przyjdzie, sprawdź folder ze spamem.",
        ],
        strict=True,
    )
]


def _answer(messages: Messages) -> str:
    return messages[-1]["content"]


def _with_answer(messages: Messages, answer: str) -> Messages:
    return [*messages[:-1], {"role": "assistant", "content": answer}]


def plant(kind: str, messages: Messages, others: list[Messages]) -> tuple[Messages, dict[str, Any]]:
    """``messages`` with one defect of ``kind``; the dict holds context (draft, duplicate of)."""
    answer = _answer(messages)
    if kind == "format":
        variant = RNG.randrange(4)
        if variant == 0:
            return messages[:-1], {}
        if variant == 1:
            return _with_answer(messages, "   "), {}
        if variant == 2:
            return [messages[0], *messages], {}
        return [*messages[:-1], {"role": "system", "content": "Be nice."}, messages[-1]], {}
    if kind == "length":
        return _with_answer(messages, (answer + "\n\n") * (25000 // max(1, len(answer)) + 1)), {}
    if kind == "placeholder":
        return _with_answer(messages, answer + RNG.choice(PLACEHOLDERS)), {}
    if kind == "truncated":
        cut = answer.rstrip()
        words = cut.split(" ")
        # cut the answer in the middle of a sentence, as a timed-out generation does
        keep = max(4, int(len(words) * RNG.uniform(0.4, 0.9)))
        stem = " ".join(words[:keep]).rstrip(".!?:;\"')")
        return _with_answer(
            messages, stem + RNG.choice([" and the", ", which", " because", " to", ",", " of the"])
        ), {}
    if kind == "pii":
        return _with_answer(messages, answer + "\n\n" + RNG.choice(PII)), {}
    if kind == "toxicity":
        return _with_answer(messages, RNG.choice(TOXIC) + " " + answer), {}
    if kind == "language":
        return _with_answer(messages, RNG.choice(FOREIGN)[1]), {}
    if kind == "refusal":
        return _with_answer(messages, RNG.choice(REFUSALS) + answer), {}
    if kind == "rubber_stamp":
        return messages, {"task_type": "correct", "model_draft": answer}
    if kind == "exact_duplicate":
        source = RNG.choice(others)
        return _with_answer(source, "A different answer, written fresh for this prompt."), {
            "index": source
        }
    if kind == "near_duplicate":
        source = RNG.choice(
            [o for o in others if len(" ".join(m["content"] for m in o).split()) >= 40]
        )
        words = _answer(source).split(" ")
        for _ in range(max(1, len(words) // 40)):
            i = RNG.randrange(len(words))
            words[i] = RNG.choice(["really", "quite", "also", "indeed"])
        return _with_answer(source, " ".join(words)), {"index": source}
    if kind == "required_prefix":
        return messages, {"options": {"required_prefix": {"prefix": "CloudSync Pro Support:"}}}
    if kind == "forbidden_phrases":
        return _with_answer(messages, answer + " Just reboot it lol."), {
            "options": {"forbidden_phrases": {"phrases": ["reboot it lol"]}}
        }
    raise ValueError(kind)


KIND_CHECK = {
    "format": "format",
    "length": "length",
    "placeholder": "placeholder",
    "truncated": "placeholder",
    "pii": "pii",
    "toxicity": "toxicity",
    "language": "language",
    "refusal": "refusal",
    "rubber_stamp": "rubber_stamp",
    "exact_duplicate": "exact_duplicate",
    "near_duplicate": "near_duplicate",
    "required_prefix": "required_prefix",
    "forbidden_phrases": "forbidden_phrases",
}


def main() -> None:
    from annotation.models import Item, Revision, RevisionKind
    from checks import config
    from checks import services as checks
    from checks.registry import REGISTRY, CheckContext
    from projects.services import create_project

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(f"bench{time.time_ns()}", password="x")
    project = create_project(creator=user, name=f"Quality {time.time_ns()}")
    project_b = create_project(creator=user, name=f"Quality B {time.time_ns()}")
    configured = [c for c in config.project_checks(project) if c.enabled]
    corpus_checks = {"exact_duplicate", "near_duplicate"}

    clean, clean_b = clean_pairs()
    RNG.shuffle(clean)

    def index(messages: Messages, where: Any = project) -> int:
        item = Item.objects.create(project=where, source=messages[:-1])
        revision = Revision.objects.create(
            item=item, messages=messages, kind=RevisionKind.SUBMISSION
        )
        Item.objects.filter(pk=item.pk).update(current_revision=revision)
        checks.index_item(item, revision, checks.fingerprint(item, messages))
        return item.pk

    def verdicts(
        messages: Messages, extra: dict[str, Any], item_id: int | None = None, where: Any = project
    ) -> dict[str, str]:
        context_kw = {k: v for k, v in extra.items() if k in ("task_type", "model_draft")}
        use = list(configured)
        for name, options in extra.get("options", {}).items():
            base = next(c for c in config.project_checks(project) if c.name == name)
            use.append(
                config.ConfiguredCheck(
                    REGISTRY[name], True, base.severity, {**base.options, **options}
                )
            )
        if context_kw.get("task_type") == "correct":
            use = [c for c in use if c.name != "rubber_stamp"] + [
                config.default_config(REGISTRY["rubber_stamp"])
            ]
        item = Item(pk=None, project=project, source=messages[:-1])
        fp = checks.fingerprint(item, messages)
        dups = checks.find_duplicates(
            project_id=where.pk, item_id=item_id, messages=messages, fp=fp
        )
        context = CheckContext(language=project.language, duplicates=tuple(dups), **context_kw)
        return {r.name: r.outcome for r in checks.evaluate(use, messages, context)}

    # Every clean pair is an item of the project; each is checked against all the others,
    # and each planted pair is checked as a new submission.
    ids = [index(messages) for messages in clean]
    ids_b = [index(messages, project_b) for messages in clean_b]

    started = time.perf_counter()
    false_by_check: dict[str, int] = {}
    flagged_clean = 0
    examples: dict[str, str] = {}
    everything = [(m, i, project) for m, i in zip(clean, ids, strict=True)]
    everything += [(m, i, project_b) for m, i in zip(clean_b, ids_b, strict=True)]
    for messages, item_id, where in everything:
        result = verdicts(messages, {}, item_id, where)
        bad = [n for n, o in result.items() if o != "pass"]
        if bad:
            flagged_clean += 1
            for n in bad:
                false_by_check[n] = false_by_check.get(n, 0) + 1
                examples.setdefault(n, _answer(messages)[-160:])
            if "--show-false" in sys.argv:
                print(f"FALSE {bad}: {_answer(messages)!r}"[:1500])

    recall: dict[str, tuple[int, int]] = {}
    total_defects = 0
    for kind, check_name in KIND_CHECK.items():
        hit = 0
        for n in range(PER_KIND):
            base = clean[n * 7 % len(clean)]
            planted, extra = plant(kind, base, clean)
            result = verdicts(planted, extra)
            hit += result.get(check_name, "pass") != "pass"
            total_defects += 1
        recall[kind] = (hit, PER_KIND)
    elapsed = time.perf_counter() - started

    print(
        f"corpus: {len(everything)} clean pairs ({len(clean)} + {len(clean_b)} in a second project), {total_defects} planted defects ({PER_KIND} per kind), "
        f"every clean pair indexed as an item of its project; database {os.environ['DATABASE_URL'].split(':')[0]}"
    )
    print(f"{'kind':<20}{'check':<20}{'recall':>8}")
    for kind, (hit, n) in recall.items():
        rule_based = kind not in corpus_checks and kind != "language"
        print(
            f"{kind:<20}{KIND_CHECK[kind]:<20}{hit / n:>8.3f}  ({hit}/{n}){'' if rule_based else '  [model/corpus]'}"
        )
    print(
        f"false positives on clean pairs: {flagged_clean}/{len(everything)} = {flagged_clean / len(everything):.2%}"
    )
    for name, count in sorted(false_by_check.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<18}{count:>4}  e.g. …{examples[name]!r}")
    print(f"elapsed {elapsed:.1f}s")


if __name__ == "__main__":
    main()
