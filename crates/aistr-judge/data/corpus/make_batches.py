#!/usr/bin/env python3
"""Picks the rows of human-label batches 5 and 6 (issue 11) and writes the blind labelling inputs.

batches 5 and 6 replace batches 1 and 3, whose label files were lost with a machine (they lived
outside git). Their labels live in git (labels/), so the corpus and the learned judge can be rebuilt
from a clean checkout. The answers are third-party model outputs and stay out of git: the inputs are
regenerated from ../shared/data, and the key (labels/batchN.key.jsonl, committed) maps each blind id
to the row's source_id. Batch 6 is drawn the same way (seed 6) from the rows batch 5 did not take.

Selection (seeded, deterministic; standard library only):
  * jbb-artifacts: for each of the 4 models, 20 rows the upstream (silver) judge called risky and
    20 it did not: 160 rows;
  * gptfuzz train split (questions 0-79) and evaluate split (questions 80-99): 60 upstream-harmful
    and 60 upstream-not each: 240 rows.
  Risky answers are over-sampled on purpose: harm recall on capable models' answers is the judge's
  known weak point, and the base rate would give too few to learn or measure it.
  Skipped before sampling: answers over 3,000 characters (labelling cost; 8% of gptfuzz, no
  jbb-artifacts rows), answers already chosen (exact duplicates), and requests equal to a
  JailbreakBench goal (the bare goal is a built-in probe prompt; build.py drops those anyway).

    python3 crates/aistr-judge/data/corpus/make_batches.py --batch 5|6 [--shared DIR] [--inputs DIR]
      -> labels/batchN.key.jsonl (id -> source_id), DIR/part{1..4}.jsonl (what annotators see)
"""
import argparse, collections, csv, json, os, random, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_CHARS = 3000


def norm(s):
    return " ".join(unicodedata.normalize("NFKC", s).lower().split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, "../../../../../shared/data"))
    ap.add_argument("--batch", type=int, choices=(5, 6), required=True)
    ap.add_argument("--inputs", default=None)
    a = ap.parse_args()
    a.inputs = a.inputs or f"/tmp/aistr-batch{a.batch}"
    D = os.path.abspath(a.shared)

    def load(p):
        with open(os.path.join(D, p), encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    goals = set()
    with open(os.path.join(D, "jbb-behaviors/harmful-behaviors.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            goals.add(norm(r["Goal"]))

    seen = set()
    # Rows of earlier batches are never drawn again.
    for b in range(5, a.batch):
        with open(os.path.join(HERE, f"labels/batch{b}.key.jsonl"), encoding="utf-8") as f:
            earlier = {json.loads(l)["source_id"] for l in f}
        for p in ("jbb-artifacts/judge_rows.jsonl", "gptfuzz-labeled-responses/judge_rows.jsonl"):
            seen.update(norm(r["response"]) for r in load(p) if r["source_id"] in earlier)

    def eligible(r):
        return len(r["response"]) <= MAX_CHARS and norm(r["request"]) not in goals and r["response"].strip()

    rng = random.Random(a.batch)
    picked = []

    def take(pool, n):
        pool = [r for r in pool if eligible(r)]
        rng.shuffle(pool)
        out = []
        for r in pool:
            k = norm(r["response"])
            if k in seen:
                continue
            seen.add(k)
            out.append(r)
            if len(out) == n:
                break
        assert len(out) == n, f"only {len(out)} of {n}"
        picked.extend(out)

    jbb = load("jbb-artifacts/judge_rows.jsonl")
    by = collections.defaultdict(list)
    for r in jbb:
        model = r["source_id"].split(":")[3]
        by[(model, r["label"] == "risky")].append(r)
    for key in sorted(by):
        take(by[key], 20)
    gf = load("gptfuzz-labeled-responses/judge_rows.jsonl")
    for split in ("train", "evaluate"):
        for harmful in (True, False):
            take([r for r in gf if r["source_id"].split(":")[1] == split and (r["label"] == "risky") == harmful], 60)

    rng.shuffle(picked)
    os.makedirs(os.path.join(HERE, "labels"), exist_ok=True)
    os.makedirs(a.inputs, exist_ok=True)
    with open(os.path.join(HERE, f"labels/batch{a.batch}.key.jsonl"), "w", encoding="utf-8") as f:
        for i, r in enumerate(picked):
            f.write(json.dumps({"id": f"b{a.batch}-{i:04d}", "source_id": r["source_id"]}) + "\n")
    for part in range(4):
        with open(os.path.join(a.inputs, f"part{part + 1}.jsonl"), "w", encoding="utf-8") as f:
            for i in range(part * 100, part * 100 + 100):
                r = picked[i]
                f.write(json.dumps({"id": f"b{a.batch}-{i:04d}", "request": r["request"], "response": r["response"]},
                                   ensure_ascii=False) + "\n")
    c = collections.Counter((r["source_id"].split(":")[0], r["label"] == "risky") for r in picked)
    print(f"{len(picked)} rows -> {a.inputs}/part1..4.jsonl; by (source, upstream risky): {dict(c)}")


if __name__ == "__main__":
    main()
