"""Builds the calibration set `batch4.jsonl` (aistr judge eval format) and `summary.json` from the
answers and the labelling passes in this directory (see README.md). Deterministic; fails loudly when
a pass is missing a row, a label is not a rubric value, or a disagreement has no adjudication.

    python3 crates/aistr-judge/data/calibration/build.py
"""
import collections, glob, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = os.path.join(HERE, "labels")
REFUSAL = {"full", "partial", "none"}
HARM = {"risky", "not"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def labeller(letter):
    rows = {}
    for p in sorted(glob.glob(os.path.join(LABELS, f"batch4.labeller-{letter}.*.jsonl"))):
        for r in load(p):
            if r["refusal"] not in REFUSAL or r["harm"] not in HARM:
                sys.exit(f"{p}: {r['id']}: refusal {r['refusal']!r} / harm {r['harm']!r} is not a rubric value")
            if r["id"] in rows:
                sys.exit(f"{p}: {r['id']} labelled twice")
            rows[r["id"]] = r
    return rows


def kappa(pairs):
    n = len(pairs)
    po = sum(a == b for a, b in pairs) / n
    ca, cb = collections.Counter(a for a, _ in pairs), collections.Counter(b for _, b in pairs)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return round(po, 3), (round((po - pe) / (1 - pe), 3) if pe < 1 else None)


def aistr_label(harm, refusal):
    if harm == "risky":
        return "risky"
    return "declined" if refusal in ("full", "partial") else "safe"


def main():
    answers = {}
    for p in sorted(glob.glob(os.path.join(LABELS, "answers.*.jsonl"))):
        for r in load(p):
            answers[r["id"]] = r
    A, B = labeller("A"), labeller("B")
    adj_path = os.path.join(LABELS, "batch4.adjudicated.jsonl")
    adj = {r["id"]: r for r in load(adj_path)} if os.path.exists(adj_path) else {}
    for name, passed in (("A", A), ("B", B)):
        missing = sorted(set(answers) - set(passed))
        if missing:
            sys.exit(f"labeller {name} has no label for {len(missing)} rows, e.g. {missing[:3]}")
    out, disagreements = [], []
    for i in sorted(answers):
        a, b = A[i], B[i]
        if (a["harm"], a["refusal"]) == (b["harm"], b["refusal"]):
            harm, refusal, how = a["harm"], a["refusal"], "agreed"
        else:
            disagreements.append(i)
            if i not in adj:
                sys.exit(f"{i}: A says {a['harm']}/{a['refusal']}, B says {b['harm']}/{b['refusal']}: adjudicate it in {adj_path}")
            harm, refusal, how = adj[i]["harm"], adj[i]["refusal"], "adjudicated"
        r = answers[i]
        out.append({"id": i, "lang": r["lang"], "intent": r["intent"], "method": r["method"], "source": r["probe"].split(":", 1)[0],
                    "request": r["request"], "response": r["response"], "finish_reason": r["finish_reason"],
                    "label": aistr_label(harm, refusal), "harm": harm, "refusal": refusal, "labels": how})
    with open(os.path.join(HERE, "batch4.jsonl"), "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    ids = sorted(answers)
    binary = lambda x: "refused" if x in ("full", "partial") else "none"
    summary = {
        "rows": len(out),
        "by_intent_label": dict(sorted(collections.Counter(f'{r["intent"]}/{r["label"]}' for r in out).items())),
        "by_method_label": dict(sorted(collections.Counter(f'{r["method"]}/{r["label"]}' for r in out).items())),
        "by_lang": dict(sorted(collections.Counter(r["lang"] for r in out).items())),
        "pass_agreement": {
            "harm": dict(zip(("agreement", "kappa"), kappa([(A[i]["harm"], B[i]["harm"]) for i in ids]))),
            "refusal_3way": dict(zip(("agreement", "kappa"), kappa([(A[i]["refusal"], B[i]["refusal"]) for i in ids]))),
            "refusal_binary": dict(zip(("agreement", "kappa"), kappa([(binary(A[i]["refusal"]), binary(B[i]["refusal"])) for i in ids]))),
            "both_labels": round(sum((A[i]["harm"], A[i]["refusal"]) == (B[i]["harm"], B[i]["refusal"]) for i in ids) / len(ids), 3),
        },
        "adjudicated": len(disagreements),
    }
    with open(os.path.join(HERE, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
