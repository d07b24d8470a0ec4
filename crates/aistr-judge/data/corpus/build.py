#!/usr/bin/env python3
"""Builds the judge corpus (issue 11) from the licensed sources in ../shared/data and the human labels
in labels/ (in git). Deterministic; standard library only.

    python3 crates/aistr-judge/data/corpus/build.py [--shared DIR] [--labels DIR] [--out DIR]

Writes, in --out (default: $AISTR_JUDGE_CORPUS or /tmp/aistr-judge-corpus, NOT in git: the texts are third-party model outputs):
  corpus.jsonl            every row, with text
  heldout-<name>.jsonl    one labelled file per held-out evaluation split, in `aistr judge eval` format
and, in this directory (in git):
  requests.sha256         sha256 of every distinct normalised request in the corpus (sorted): what the
                          contamination test checks and the trained weights' provenance pins
  summary.json            row counts per source, split and label; rows dropped and why
  inputs.sha256           sha256 of every input file read

Rows whose normalised request equals a prompt of a built-in probe set (jbb-harmful, jbb-benign,
jade-zh) are dropped (counted in the summary). jbb-artifacts rows are jailbreaks of the JBB goals that
`jbb-harmful` sends: their request is the jailbreak prompt, never the goal, and they are marked with
`about_builtin`.
"""
import argparse, csv, glob, hashlib, json, os, re, sys, unicodedata, collections

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "../../../.."))
BUILTIN = os.path.join(REPO, "crates/aistr-datasets/data")
HUMAN_BATCHES = ("batch5", "batch6")


def norm(s):
    """The normalisation the contamination test applies too (see tests/corpus.rs)."""
    s = unicodedata.normalize("NFKC", s).lower()
    return " ".join(s.split())


def sha(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def file_sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(REPO, "../shared/data"))
    ap.add_argument("--labels", default=os.path.join(HERE, "labels"))
    ap.add_argument("--keys", default=os.path.join(HERE, "labels"))
    ap.add_argument("--out", default=os.environ.get("AISTR_JUDGE_CORPUS", "/tmp/aistr-judge-corpus"))
    a = ap.parse_args()
    D = a.shared
    inputs = []

    def load_jsonl(p):
        inputs.append(p)
        return [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]

    builtin = {}
    for name in ("jbb-harmful", "jbb-benign", "jade-zh"):
        for r in load_jsonl(os.path.join(BUILTIN, f"{name}.jsonl")):
            builtin[norm(r["prompt"])] = f"{name}:{r['id']}"
    # Requests of the held-out calibration set (batch4, data/calibration/probes.jsonl): kept out of
    # training so that set stays unseen (its 30 TruthfulQA questions would otherwise come in below).
    heldout_prompts = {norm(r["prompt"]) for r in load_jsonl(os.path.join(HERE, "../calibration/probes.jsonl"))}

    rows = []
    dropped = collections.Counter()

    def add(row):
        n = norm(row["request"])
        if n in builtin:
            dropped[f"{row['source']}: request is built-in prompt {builtin[n]}"] += 1
            return
        if n in heldout_prompts:
            dropped[f"{row['source']}: request is a held-out calibration (batch4) request"] += 1
            return
        rows.append(row)

    def refusal_of_upstream(label):
        # The shared data's declined/safe split is a keyword rule: noisy, kept as `weak_refusal` only.
        return {"declined": "refusal", "safe": "none", "risky": None}[label]

    # gptfuzz: human harm labels (GPTFuzz authors), question-disjoint train/evaluate split.
    for r in load_jsonl(os.path.join(D, "gptfuzz-labeled-responses/judge_rows.jsonl")):
        _, split, row, q = r["source_id"].split(":")
        add({
            "id": r["source_id"], "source": "gptfuzz", "split": split, "group": q,
            "request": r["request"], "response": r["response"], "intent": "harmful", "lang": r["language"],
            "harm": "risky" if r["label"] == "risky" else "not", "harm_source": "human-upstream",
            "weak_refusal": refusal_of_upstream(r["label"]), "upstream_label": r["label"],
        })
    # jbb-artifacts: silver harm labels (JailbreakBench's Llama-3-70B judge).
    for r in load_jsonl(os.path.join(D, "jbb-artifacts/judge_rows.jsonl")):
        parts = r["source_id"].split(":")
        add({
            "id": r["source_id"], "source": "jbb-artifacts", "split": parts[3], "group": "jbb" + parts[4],
            "request": r["request"], "response": r["response"], "intent": "harmful", "lang": r["language"],
            "harm": "risky" if r["label"] == "risky" else "not", "harm_source": "model-upstream",
            "weak_refusal": refusal_of_upstream(r["label"]), "upstream_label": r["label"],
            "about_builtin": f"jbb-harmful:{parts[4]}",
        })
    # JADE-DB v3 alignment sets (zh): violating answer -> risky, safe helpful answer (a refusal) -> not.
    # Medium ids 481-500 are in data/dev.jsonl and stay out.
    for level in ("medium", "hard"):
        p = os.path.join(D, f"jade-db/v3_gb18030/jade_alignment_{level}_zh.csv")
        inputs.append(p)
        for rec in csv.DictReader(open(p, encoding="gb18030")):
            i = int(rec["ID"])
            if level == "medium" and 481 <= i <= 500:
                continue
            q = rec["问题"]
            for kind, text in (("violating", rec["违规回答"]), ("safe", rec["安全有用回答"])):
                if not text.strip():
                    continue
                add({
                    "id": f"jade-v3-{level}-{i}-{kind}", "source": "jade", "split": level, "group": f"jade{level}{i}",
                    "request": q, "response": text, "intent": "harmful", "lang": "zh",
                    "harm": "risky" if kind == "violating" else "not", "harm_source": "construction",
                    "weak_refusal": None if kind == "violating" else "refusal",
                    "upstream_label": "risky" if kind == "violating" else "declined",
                })
    # TruthfulQA: benign questions answered (best answer) -> safe, no refusal.
    p = os.path.join(D, "truthfulqa/TruthfulQA.csv")
    inputs.append(p)
    for i, rec in enumerate(csv.DictReader(open(p, encoding="utf-8"))):
        add({
            "id": f"truthfulqa-{i}", "source": "truthfulqa", "split": "all", "group": f"tqa{i}",
            "request": rec["Question"], "response": rec["Best Answer"], "intent": "benign", "lang": "en",
            "harm": "not", "harm_source": "construction", "weak_refusal": "none", "upstream_label": "safe",
        })

    # Human labels (two blind passes with RUBRIC.md, disagreements adjudicated by the lead): batches 5
    # and 6, 400 gptfuzz and jbb-artifacts rows each (make_batches.py). They replace batches 1 and 3,
    # whose files were lost outside git.
    human = {k: v for b in HUMAN_BATCHES for k, v in load_human(a, b, load_jsonl).items()}
    by_id = {r["id"]: r for r in rows}
    matched = 0
    for hid, (src_id, lab) in sorted(human.items()):
        r = by_id.get(src_id)
        if r is None:
            continue
        matched += 1
        r["human"] = {"id": hid, **lab}

    for r in rows:
        r["request_sha256"] = sha(norm(r["request"]))
        r["response_sha256"] = sha(r["response"])
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    # In git: the distinct normalised requests of the pool (sha256, sorted), what the contamination test
    # checks and the trained weights' provenance pins, and a summary of the corpus.
    with open(os.path.join(HERE, "requests.sha256"), "w") as f:
        for h in sorted({r["request_sha256"] for r in rows}):
            f.write(h + "\n")
    summary = collections.Counter(f'{r["source"]}/{r["split"] if r["source"] == "gptfuzz" else "*"}/{r["harm"]}' for r in rows)
    hsum = collections.Counter(f'{r["source"]}/harm={r["human"]["harm"]}/refusal={r["human"]["refusal"]}' for r in rows if "human" in r)
    with open(os.path.join(HERE, "summary.json"), "w") as f:
        json.dump({"rows": len(rows), "corpus_sha256": file_sha(os.path.join(a.out, "corpus.jsonl")),
                   "by_source_split_harm": dict(sorted(summary.items())),
                   "human_labelled": dict(sorted(hsum.items())),
                   "dropped": summary_dropped(dropped),
                   "pass_agreement": {b: pass_agreement(a, b, load_jsonl) for b in HUMAN_BATCHES}},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(HERE, "inputs.sha256"), "w") as f:
        for p in inputs:
            rel = os.path.relpath(p, os.path.dirname(D)) if p.startswith(D) else os.path.relpath(p, REPO)
            f.write(f"{file_sha(p)}  {rel}\n")

    write_heldout(a.out, rows, a, load_jsonl)
    c = collections.Counter((r["source"], r["split"] if r["source"] == "gptfuzz" else "*", r["harm"]) for r in rows)
    for k in sorted(c):
        print("  ", k, c[k])
    print(f"{len(rows)} rows; human-labelled (batches 5 and 6) matched: {matched}/{len(human)}")
    for k, v in sorted(summary_dropped(dropped).items()):
        print(f"dropped {v}: {k}")
    for b in HUMAN_BATCHES:
        ag = pass_agreement(a, b, load_jsonl)
        if ag:
            print(f"{b} agreement between the two blind passes: {json.dumps(ag)}")


def summary_dropped(dropped):
    c = collections.Counter()
    for k, v in dropped.items():
        c[re.sub(r" (jbb-harmful|jbb-benign|jade-zh):\S+$", r" (\1)", k)] += v
    return dict(sorted(c.items()))


def kappa(pairs):
    n = len(pairs)
    if not n:
        return None
    po = sum(x == y for x, y in pairs) / n
    cats = {x for p in pairs for x in p}
    pe = sum((sum(x == c for x, _ in pairs) / n) * (sum(y == c for _, y in pairs) / n) for c in cats)
    return round((po - pe) / (1 - pe), 3) if pe < 1 else 1.0


def passes(a, batch):
    """The two blind passes of a batch: for each labeller letter, its files (one or several parts)."""
    by = collections.defaultdict(list)
    for f in sorted(glob.glob(os.path.join(a.labels, f"{batch}.labeller-*.jsonl"))):
        by[os.path.basename(f).split(".")[1]].append(f)
    return tuple(by[k] for k in sorted(by)) if len(by) == 2 else (None, None)


def load_pass(files, load_jsonl):
    return [r for f in files for r in load_jsonl(f)]


def pass_agreement(a, batch, load_jsonl):
    """Agreement between the two blind passes (before adjudication)."""
    A, B = passes(a, batch)
    if not (A and B):
        return None
    la = {r["id"]: r for r in load_pass(A, load_jsonl)}
    both = [(la[r["id"]], r) for r in load_pass(B, load_jsonl) if r["id"] in la]
    if not both:
        return None
    n = len(both)
    harm = [(x["harm"], y["harm"]) for x, y in both]
    ref = [(x["refusal"], y["refusal"]) for x, y in both]
    refb = [(x["refusal"] != "none", y["refusal"] != "none") for x, y in both]
    return {"rows": n,
            "harm": round(sum(x == y for x, y in harm) / n, 3), "harm_kappa": kappa(harm),
            "refusal_3way": round(sum(x == y for x, y in ref) / n, 3), "refusal_3way_kappa": kappa(ref),
            "refusal_binary": round(sum(x == y for x, y in refb) / n, 3), "refusal_binary_kappa": kappa(refb),
            "both_labels": round(sum(x["harm"] == y["harm"] and x["refusal"] == y["refusal"] for x, y in both) / n, 3)}


def aistr_label(harm, refusal):
    if harm == "risky":
        return "risky"
    return "declined" if refusal in ("full", "partial") else "safe"


def load_human(a, batch, load_jsonl):
    """id -> (source_id or probe id, {refusal, harm, origin}): the final file if there is one, else the
    rows both passes agree on plus the adjudicated ones."""
    final = os.path.join(a.labels, f"{batch}.final.jsonl")
    A, B = passes(a, batch)
    key = {}
    kp = os.path.join(a.keys, f"{batch}.key.jsonl")
    if os.path.exists(kp):
        key = {r["id"]: r.get("source_id", r["id"]) for r in load_jsonl(kp)}
    out = {}
    if os.path.exists(final):
        for r in load_jsonl(final):
            out[r["id"]] = (key.get(r["id"], r["id"]), {"refusal": r["refusal"], "harm": r["harm"],
                                                        "origin": "adjudicated" if r.get("adjudicated") else "agreed"})
        return out
    if A and B:
        la = {r["id"]: r for r in load_pass(A, load_jsonl)}
        for r in load_pass(B, load_jsonl):
            x = la.get(r["id"])
            if x and x["refusal"] == r["refusal"] and x["harm"] == r["harm"]:
                out[r["id"]] = (key.get(r["id"], r["id"]), {"refusal": r["refusal"], "harm": r["harm"], "origin": "agreed"})
    # Rows where the passes disagreed, decided by the adjudicator (each with its reason).
    adj = os.path.join(a.labels, f"{batch}.adjudicated.jsonl")
    if os.path.exists(adj):
        for r in load_jsonl(adj):
            out[r["id"]] = (key.get(r["id"], r["id"]), {"refusal": r["refusal"], "harm": r["harm"], "origin": "adjudicated"})
    return out


def write_heldout(out, rows, a, load_jsonl):
    """Labelled files for `aistr judge eval`, one per held-out split."""
    def eval_row(r, label, refusal=None, harm=None):
        e = {"id": r["id"], "request": r["request"], "response": r["response"], "label": label,
             "intent": r["intent"], "lang": r["lang"], "source": r["source"]}
        if refusal:
            e["refusal"] = refusal
        if harm:
            e["harm"] = harm
        return e

    def upstream(r):
        return r["upstream_label"]

    files = {
        # Human (GPTFuzz authors) harm labels; declined/safe by the keyword rule.
        "gptfuzz-evaluate": [eval_row(r, upstream(r), harm=r["harm"]) for r in rows
                             if r["source"] == "gptfuzz" and r["split"] == "evaluate"],
        # Silver (Llama-3-70B) harm labels.
        "jbb-artifacts-silver": [eval_row(r, upstream(r), harm=r["harm"]) for r in rows if r["source"] == "jbb-artifacts"],
    }
    for name, src in (("gptfuzz-human", "gptfuzz"), ("jbb-artifacts-human", "jbb-artifacts")):
        files[name] = [eval_row(r, aistr_label(r["human"]["harm"], r["human"]["refusal"]), r["human"]["refusal"],
                                r["human"]["harm"]) for r in rows if r["source"] == src and "human" in r]
    # The question-disjoint split alone (for models trained with --holdout gptfuzz-evaluate).
    files["gptfuzz-evaluate-human"] = [r for r in files["gptfuzz-human"] if ":evaluate:" in r["id"]]
    # batch2: SmolLM2 answers, human-labelled; never trained on.
    b2 = os.path.join(a.labels, "batch2.jsonl")
    if os.path.exists(b2):
        key = {r["id"]: r for r in load_jsonl(os.path.join(a.keys, "batch2.key.jsonl"))}
        human = load_human(a, "batch2", load_jsonl)
        rows2 = []
        for r in load_jsonl(b2):
            if r["id"] not in human:
                continue
            lab = human[r["id"]][1]
            k = key[r["id"]]
            e = {"id": r["id"], "request": r["request"], "response": r["response"],
                 "label": aistr_label(lab["harm"], lab["refusal"]), "refusal": lab["refusal"],
                 "harm": lab["harm"], "intent": k["intent"], "lang": k["language"], "source": "smollm2-" + k["source"]}
            if k.get("finish_reason"):
                e["finish_reason"] = k["finish_reason"]
            rows2.append(e)
        files["smollm2-human"] = rows2
    for name, rs in files.items():
        with open(os.path.join(out, f"heldout-{name}.jsonl"), "w", encoding="utf-8") as f:
            for r in rs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"heldout-{name}.jsonl: {len(rs)} rows")


if __name__ == "__main__":
    main()
