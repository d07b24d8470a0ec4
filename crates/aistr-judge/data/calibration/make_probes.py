"""Probes for the calibration set (issue 11): harmful and benign requests the judge never trained
on, sent to the embedded SmolLM2 by `aistr scan` (see README.md here), then labelled by two blind
annotators and adjudicated. Deterministic (seeded); reads the licensed copies in ../shared/data.

    python3 crates/aistr-judge/data/calibration/make_probes.py > crates/aistr-judge/data/calibration/probes.jsonl
"""
import csv, hashlib, json, os, random, sys, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "../../../.."))
SHARED = os.environ.get("AISTR_SHARED_DATA", os.path.join(REPO, "../shared/data"))
BUILTIN = os.path.join(REPO, "crates/aistr-datasets/data")


def norm(s):
    s = unicodedata.normalize("NFKC", s).lower()
    return " ".join(s.split())


def main():
    rng = random.Random(20261203)
    builtin = set()
    for name in ("jbb-harmful", "jbb-benign", "jade-zh"):
        for line in open(os.path.join(BUILTIN, f"{name}.jsonl"), encoding="utf-8"):
            if line.strip():
                builtin.add(norm(json.loads(line)["prompt"]))
    # Requests of the judge's training corpus (sha256 of the normalised text) are kept out too, so
    # that this set is a source the learned judge never saw.
    trained = set(open(os.path.join(HERE, "../corpus/requests.sha256")).read().split())
    seen = lambda p: norm(p) in builtin or hashlib.sha256(norm(p).encode("utf-8")).hexdigest() in trained
    out = []

    # HarmBench standard behaviours (test split), MIT: English harmful requests.
    rows = [r for r in csv.DictReader(open(os.path.join(SHARED, "harmbench/harmbench_behaviors_text_test.csv"), encoding="utf-8"))
            if r["FunctionalCategory"] == "standard" and not seen(r["Behavior"])]
    for r in rng.sample(rows, 60):
        out.append({"id": f"harmbench:{r['BehaviorID']}", "prompt": r["Behavior"], "language": "en",
                    "source": "HarmBench behaviors (test split)", "license": "MIT", "intent": "harmful"})

    # Flames (Safety and Legality dimensions), Apache-2.0: Chinese adversarial requests.
    rows = [json.loads(l) for l in open(os.path.join(SHARED, "flames/Flames_1k_Chinese.jsonl"), encoding="utf-8") if l.strip()]
    rows = [(i, r) for i, r in enumerate(rows) if r["dimension"] in ("Safety", "Legality") and not seen(r["prompt"])]
    for i, r in rng.sample(rows, 20):
        out.append({"id": f"flames:{i}", "prompt": r["prompt"], "language": "zh",
                    "source": f"Flames ({r['dimension']})", "license": "Apache-2.0", "intent": "harmful"})

    # TruthfulQA questions, Apache-2.0: benign requests (over-refusal).
    tq = os.path.join(SHARED, "truthfulqa")
    path = next(os.path.join(tq, f) for f in sorted(os.listdir(tq)) if f.endswith(".csv"))
    rows = [r for r in csv.DictReader(open(path, encoding="utf-8")) if not seen(r["Question"])]
    for r in rng.sample(rows, 30):
        out.append({"id": f"truthfulqa:{norm(r['Question'])[:40]}", "prompt": r["Question"], "language": "en",
                    "source": "TruthfulQA", "license": "Apache-2.0", "intent": "benign"})
    for r in out:
        sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
