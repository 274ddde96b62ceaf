"""The manifest and the dataset card (README.md) that travel with an export.

Both are pure functions of the exported data and the options: no dates, job ids or
names of people, so the same data and options give the same bytes. The card counts
annotators and reviewers but never names them.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from exports.formats import FORMAT_LABELS, SHAREGPT, SHAREGPT_TRL_NOTE

MANIFEST_VERSION = 1


class LengthStats:
    """Character lengths of prompts and answers, summarised for the card. Counts per
    length rather than every value, so memory stays small at millions of rows."""

    def __init__(self) -> None:
        self.prompt: Counter[int] = Counter()
        self.answer: Counter[int] = Counter()

    def add(self, prompt_chars: int, answer_chars: int) -> None:
        self.prompt[prompt_chars] += 1
        self.answer[answer_chars] += 1

    @staticmethod
    def _summary(counts: Counter[int]) -> dict[str, float | int]:
        n = sum(counts.values())
        if not n:
            return {"min": 0, "p50": 0, "p95": 0, "max": 0, "mean": 0}
        lengths = sorted(counts)
        wanted = {"p50": (n - 1) // 2, "p95": min(n - 1, (95 * n) // 100)}
        found: dict[str, int] = {}
        seen = 0
        for length in lengths:
            seen += counts[length]
            for name, rank in wanted.items():
                if name not in found and rank < seen:
                    found[name] = length
        return {
            "min": lengths[0],
            "p50": found["p50"],
            "p95": found["p95"],
            "max": lengths[-1],
            "mean": round(sum(k * v for k, v in counts.items()) / n, 1),
        }

    def summary(self) -> dict[str, dict[str, float | int]]:
        return {
            "prompt_chars": self._summary(self.prompt),
            "answer_chars": self._summary(self.answer),
        }


def write_manifest(path: str, manifest: dict[str, Any]) -> None:
    """Write manifest.json: indented, keys in the order built, a final newline; each
    file's ``revision_ids`` (an array, a million ids or more) on one line, written in
    slices so it never exists as one big Python list or string."""
    placeholders = {}
    files = []
    for n, entry in enumerate(manifest["files"]):
        marker = f"@@revision_ids_{n}@@"
        placeholders[f'"{marker}"'] = entry["revision_ids"]
        files.append({**entry, "revision_ids": marker})
    text = json.dumps({**manifest, "files": files}, ensure_ascii=False, indent=2) + "\n"
    with open(path, "w", encoding="utf-8") as out:
        for quoted, ids in placeholders.items():
            before, text = text.split(quoted, 1)
            out.write(before)
            out.write("[")
            for start in range(0, len(ids), 100_000):
                if start:
                    out.write(", ")
                out.write(", ".join(map(str, ids[start : start + 100_000])))
            out.write("]")
        out.write(text)


def public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without the per-file revision id lists (kept in manifest.json), for
    API answers and the job row."""
    files = [{k: v for k, v in f.items() if k != "revision_ids"} for f in manifest["files"]]
    return {**manifest, "files": files}


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M" if rows < 1_000_000 else "1M<n<10M"


def readme(manifest: dict[str, Any], *, project_name: str, description: str, language: str) -> str:
    """A dataset card in the Hugging Face layout: YAML front matter naming the files, so
    ``datasets.load_dataset`` on the unpacked folder finds the splits, then the facts."""
    files = manifest["files"]
    options = manifest["options"]
    stats = manifest["stats"]
    rows = sum(f["rows"] for f in files)
    lines = [
        "---",
        f"language:\n- {language}",
        "task_categories:\n- text-generation",
        f"size_categories:\n- {_size_category(rows)}",
        "configs:\n- config_name: default\n  data_files:",
    ]
    for f in files:
        if not f["rows"] and len(files) > 1:
            continue  # datasets refuses a declared split with no rows
        lines.append(f"  - split: {f['name'].removesuffix('.jsonl')}\n    path: {f['name']}")
    lines += ["---", "", f"# {project_name}", ""]
    if description.strip():
        lines += [description.strip(), ""]
    lines += [
        "## Contents",
        "",
        f"Format: `{manifest['format']}` — {FORMAT_LABELS[manifest['format']]}.",
        "",
        *([SHAREGPT_TRL_NOTE, ""] if manifest["format"] == SHAREGPT else []),
        "| file | rows | sha256 |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {f['name']} | {f['rows']} | `{f['sha256']}` |" for f in files]
    lines += [
        "",
        f"Items in the snapshot: {manifest['snapshot']['items']}; exact duplicates removed: "
        f"{manifest['duplicates_removed']}; items that gave no row: {manifest['skipped']}.",
        "",
        "## Options",
        "",
        "```json",
        json.dumps(options, ensure_ascii=False, indent=2),
        "```",
        "",
        "## Lengths (characters)",
        "",
        "| | min | median | p95 | max | mean |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in (("prompt_chars", "prompt"), ("answer_chars", "answer")):
        s = stats["lengths"][name]
        lines.append(
            f"| {label} | {s['min']} | {s['p50']} | {s['p95']} | {s['max']} | {s['mean']} |"
        )
    lines += ["", "## Quality", ""]
    people = stats["people"]
    lines.append(
        f"Written by {people['annotators']} annotator(s), reviewed by {people['reviewers']} "
        f"reviewer(s). Guideline version(s): "
        + (", ".join(str(v) for v in stats["guideline_versions"]) or "none recorded")
        + "."
    )
    checks = stats["checks"]
    if checks:
        lines += [
            "",
            "| check | pass | warn | fail | pass rate |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, counts in checks.items():
            total = counts["pass"] + counts["warn"] + counts["fail"]
            rate = f"{100 * counts['pass'] / total:.1f}%" if total else "—"
            lines.append(
                f"| {name} | {counts['pass']} | {counts['warn']} | {counts['fail']} | {rate} |"
            )
    else:
        lines += ["", "No automated check results were recorded for these revisions."]
    drafts = stats.get("model_drafts") or []
    lines += ["", "## Model drafts", ""]
    if drafts:
        lines += [
            "Items whose answer started from a model draft written here, corrected and "
            "reviewed by people, by the prompt version that wrote the draft:",
            "",
            "| prompt version | id | items |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {d['name']} | {d['prompt_version']} | {d['items']} |" for d in drafts]
    else:
        lines.append("No answer started from a model draft written in Scriptorium.")
    lines += [
        "",
        "## Provenance",
        "",
        "Exported by Scriptorium from approved, reviewed items. `manifest.json` lists every "
        "revision id exported, per file.",
        "",
    ]
    return "\n".join(lines)
