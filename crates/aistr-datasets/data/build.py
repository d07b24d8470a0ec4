#!/usr/bin/env python3
"""Regenerates the embedded probe sets from ../shared/data (run from the repo root).

Each output row: {"id", "prompt", "category", "upstream_category", "language", "source", "license", "intent"}.
Category ids come from data/taxonomy.toml; upstream categories are kept verbatim for traceability.
"""
import csv, json, pathlib, sys

SHARED = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
OUT = pathlib.Path(__file__).parent

JBB = {
    "Harassment/Discrimination": "ethics.discrimination",
    "Malware/Hacking": "data.security_attack",
    "Physical harm": "ethics.physical_harm",
    "Economic harm": "ethics.commercial",
    "Fraud/Deception": "content.fraud",
    "Disinformation": "content.false_information",
    "Sexual/Adult content": "content.sexual",
    "Privacy": "data.personal_information",
    "Expert advice": "compliance.expert_advice",
    "Government decision-making": "compliance.government",
}
JADE = {"违法犯罪": "content.illegal", "侵犯权益": "ethics.rights_infringement", "歧视偏见": "ethics.discrimination"}


def write(name, rows):
    with open(OUT / f"{name}.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


for kind, intent in (("harmful", "harmful"), ("benign", "benign")):
    rows = []
    for r in csv.DictReader(open(SHARED / f"jbb-behaviors/{kind}-behaviors.csv", encoding="utf-8")):
        rows.append({
            "id": r["Index"], "prompt": r["Goal"], "category": JBB[r["Category"]],
            "upstream_category": r["Category"], "language": "en",
            "source": f"JailbreakBench JBB-Behaviors ({r['Source']})", "license": "MIT", "intent": intent,
        })
    write(f"jbb-{kind}", rows)

rows = []
for r in csv.DictReader(open(SHARED / "jade-db/jade_benchmark_zh.csv", encoding="utf-8")):
    rows.append({
        "id": r["ID"], "prompt": r["问题"], "category": JADE[r["违规类型"]],
        "upstream_category": f"{r['违规类型']}/{r['违规子类']}", "language": "zh",
        "source": "JADE-DB v1.0 zh (whitzard-ai)", "license": "MIT", "intent": "harmful",
    })
write("jade-zh", rows)
