#!/usr/bin/env python3
"""Writes zh-hk-pii.jsonl: a labelled Chinese / Hong Kong PII test set for the aistr-privacy detector.

Every value is synthetic (random digits completed with a valid check digit, computed here by an
implementation independent of the Rust one). Each positive template has a near-miss twin: the same
sentence with an invalid check digit, an impossible date, a missing context word, or a number that
only looks like an identifier; near misses carry no spans, so anything found in them is a false
positive. Offsets are in characters (Python code points = Rust chars).

Run: python3 crates/aistr-privacy/data/make_zh_hk_set.py > crates/aistr-privacy/data/zh-hk-pii.jsonl
"""
import json
import random

rng = random.Random(20261201)


def digits(n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def hkid_check(letters, ds):
    padded = letters.rjust(2)
    vals = [36 if c == " " else (ord(c) - 55 if c.isalpha() else int(c)) for c in padded + ds]
    total = sum(v * w for v, w in zip(vals, range(9, 1, -1)))
    r = (11 - total % 11) % 11
    return "A" if r == 10 else str(r)


def hkid(valid=True):
    letters = rng.choice("ABCDEGHKMPRVYZ") if rng.random() < 0.85 else rng.choice(["XA", "WX", "XD"])
    ds = digits(6)
    c = hkid_check(letters, ds)
    if not valid:
        c = rng.choice([x for x in "0123456789A" if x != c])
    return letters, ds, c


def cn_check(body):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    r = (12 - sum(int(d) * x for d, x in zip(body, w)) % 11) % 11
    return "X" if r == 10 else str(r)


def cn_id(valid=True, bad_date=False):
    region = rng.choice(["110108", "310101", "440106", "440304", "330102", "510107", "420106", "320106"])
    y, m, d = rng.randint(1955, 2005), rng.randint(1, 12), rng.randint(1, 28)
    if bad_date:
        m, d = 2, 30
    body = f"{region}{y:04d}{m:02d}{d:02d}{digits(3)}"
    c = cn_check(body)
    if not valid:
        c = rng.choice([x for x in "0123456789X" if x != c])
    return body + c


def luhn_check(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return str((10 - total % 10) % 10)


def card(valid=True):
    prefix = rng.choice(["62", "4", "5", "3568"])
    body = prefix + digits(15 - len(prefix))
    c = luhn_check(body)
    if not valid:
        c = str((int(c) + rng.randint(1, 9)) % 10)
    n = body + c
    return " ".join(n[i:i + 4] for i in range(0, 16, 4)) if rng.random() < 0.6 else n


def to_full_width(s):
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


rows = []


def add(parts, note):
    """parts: list of str (plain) or (kind, value) tuples (labelled)."""
    text, spans = "", []
    for p in parts:
        if isinstance(p, tuple):
            kind, value = p
            spans.append({"kind": kind, "start": len(text), "end": len(text) + len(value)})
            text += value
        else:
            text += p
    rows.append({"text": text, "spans": spans, "note": note})


NAMES = ["陳大文", "黃小明", "李嘉欣", "張偉", "王芳", "劉德明", "Chan Tai Man", "Wong Siu Ming"]

for _ in range(12):
    name = rng.choice(NAMES)
    letters, ds, c = hkid()
    form = rng.choice(["paren", "plain", "full"])
    v = {"paren": f"{letters}{ds}({c})", "plain": f"{letters}{ds}{c}", "full": to_full_width(f"{letters}{ds}({c})")}[form]
    add([f"客戶{name}的身份證號碼是", ("hkid", v), "，請核實。"], f"hkid valid {form}")
    letters, ds, c = hkid(valid=False)
    add([f"客戶{name}的身份證號碼是{letters}{ds}({c})，請核實。"], "hkid near-miss: wrong check digit")

for _ in range(10):
    name = rng.choice(NAMES)
    v = cn_id()
    add([f"{name}，公民身份号码", ("cn_id", v), "，户籍地址见附件。"], "cn_id valid")
    add([f"{name}，公民身份号码{cn_id(valid=False)}，户籍地址见附件。"], "cn_id near-miss: wrong check character")
for _ in range(4):
    add([f"身份证：{cn_id(bad_date=True)}"], "cn_id near-miss: 30 February (check character valid for the digits)")

for _ in range(10):
    n = f"{rng.choice('569')}{digits(3)} {digits(4)}"
    form = rng.choice(["+852 ", "(852) ", "852-", ""])
    if form:
        add(["請致電 ", ("phone", form + n), " 聯絡陳先生。"], "hk phone with country code")
    else:
        add(["聯絡電話：", ("phone", n), "（辦公時間）"], "hk phone with context word")
    add([f"本月營業額為 {rng.choice('569')}{digits(3)} {digits(4)} 港元。"], "near-miss: 8-digit amount, no phone word")

for _ in range(10):
    n = f"1{rng.choice('3589')}{digits(9)}"
    fmt = rng.choice(["plain", "spaced", "+86"])
    v = {"plain": n, "spaced": f"{n[:3]} {n[3:7]} {n[7:]}", "+86": f"+86 {n}"}[fmt]
    add(["手机号码：", ("phone", v), "，请保持畅通。"], f"cn mobile {fmt}")
    add([f"订单号{digits(14)}已发货。"], "near-miss: 14-digit order number")

for _ in range(8):
    v = card()
    add(["信用卡號碼 ", ("card", v), " 已於上月到期。"], "card valid (Luhn)")
    add([f"信用卡號碼 {card(valid=False)} 已於上月到期。"], "card near-miss: Luhn fails")

for _ in range(8):
    code = rng.choice(["004", "024", "012", "015"])
    v = f"{code}-{digits(3)}-{digits(6)}-{digits(3)}"
    add(["請將款項存入戶口 ", ("bank_account", v), "。"], "hk bank account with clearing code")
    add([f"參考編號 999-{digits(3)}-{digits(6)}-{digits(3)}。"], "near-miss: 3-3-6-3 digits with no HK clearing code")

for _ in range(8):
    v = rng.choice(["K", "H"]) + digits(8)
    add(["特區護照號碼：", ("passport", v), "，有效期至2030年。"], "hk passport with context")
    add([f"貨件編號：{rng.choice(['K', 'H'])}{digits(8)}，預計明天送達。"], "near-miss: same shape, no passport word")
for _ in range(4):
    v = "E" + digits(8)
    add(["护照号码", ("passport", v), "。"], "cn passport with context")

for _ in range(6):
    user = rng.choice(["chan.taiman", "siuming.wong", "kayan_lee", "zhangwei88"])
    v = f"{user}{digits(2)}@{rng.choice(['example.com', 'mail.example.hk', 'example.cn'])}"
    add(["電郵：", ("email", v), "（請勿外傳）"], "email in Chinese text")
    add([f"請在網站上輸入 {user} 作為用戶名稱。"], "near-miss: a user name, no domain")

for _ in range(8):
    road = rng.choice(["彌敦道", "軒尼詩道", "皇后大道中", "德輔道中", "南京东路", "中山路", "长安街", "人民路"])
    place = rng.choice(["香港九龍", "香港灣仔", "香港中環", "上海市黄浦区", "北京市东城区", "广州市越秀区"])
    v = f"{place}{road}{rng.randint(1, 888)}{'號' if '道' in road else '号'}"
    add(["送貨地址：", ("street_address", v), "。"], "street address (zh)")
    add([f"我們明天會在{road}附近開會。"], "near-miss: a road name without a number")

for _ in range(6):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    v = "sk-proj-" + "".join(rng.choice(alphabet) for _ in range(40))
    add(["系統設定的 API 密鑰為 ", ("api_key", v), "，切勿公開。"], "api key, provider prefix")
    add(["請參考 sk-learn 與 task-oriented 的文件。"], "near-miss: words with sk- inside")

for _ in range(4):
    add([f"會議日期為 2024{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}，地點待定。"], "near-miss: a date as digits")
    add([f"版本號 {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"], "near-miss: dotted version")

for r in rows:
    print(json.dumps(r, ensure_ascii=False))
