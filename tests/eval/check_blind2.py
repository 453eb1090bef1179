#!/usr/bin/env python3
"""Structural check of the blind evaluation set in /work/blind2 (corpus.yaml + cases.yaml).

Run: /work/main/.venv/bin/python /work/blind2/check.py   (needs pyyaml and cpca)
Exits non-zero on any error; prints counts at the end.
"""
import collections
import csv
import importlib.resources as res
import os
import re
import sys

import yaml

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "matching", "evaluation", "sets", "blind2")  # moved beside the tests
errors, warnings = [], []


def err(msg):
    errors.append(msg)


def warn(msg):
    warnings.append(msg)


# ---------- region codes from cpca ----------
rows = list(csv.DictReader(res.files("cpca").joinpath("resources/adcodes.csv")
                           .read_text(encoding="utf-8").splitlines()))
codes = {r["adcode"][:6]: r["name"] for r in rows}


def is_county(code):
    return (code in codes and not code.endswith("00") and codes[code] != "市辖区")


def in_circle(code):
    return code.startswith("50") or code.startswith("51") or code.startswith("5203")


# ---------- corpus ----------
corpus = yaml.safe_load(open(os.path.join(HERE, "corpus.yaml"), encoding="utf-8"))
ents = corpus.get("enterprises") or []
E = {}
ID_RE = re.compile(r"^[a-z0-9-]+$")
ALLOWED_FIRM_TAGS = {"规上", "专精特新", "高新技术企业"}
for e in ents:
    eid = e.get("id")
    if not eid or not ID_RE.match(eid) or not eid.startswith("b2-"):
        err(f"bad enterprise id {eid!r}")
    if eid in E:
        err(f"duplicate enterprise id {eid}")
    E[eid] = e
    name = e.get("name", "")
    if not name.endswith("(盲评)"):
        err(f"{eid}: name must end with (盲评): {name}")
    rc = e.get("region_code")
    if not isinstance(rc, str) or not re.fullmatch(r"\d{6}", rc):
        err(f"{eid}: region_code must be a quoted 6-digit string, got {rc!r}")
    elif not is_county(rc):
        err(f"{eid}: region_code {rc} is not a county-level code in cpca")
    for t in e.get("tags") or []:
        if t not in ALLOWED_FIRM_TAGS:
            err(f"{eid}: firm tag {t!r} not allowed")
    for kind in ("offers", "needs"):
        seen = set()
        for it in e.get(kind) or []:
            iid = it.get("id")
            if not iid or not ID_RE.match(iid):
                err(f"{eid}.{kind}: bad item id {iid!r}")
            if iid in seen:
                err(f"{eid}.{kind}: duplicate item id {iid}")
            seen.add(iid)
            if not it.get("product"):
                err(f"{eid}.{iid}: product required")
            q = it.get("capacity" if kind == "offers" else "volume")
            if q is not None:
                if not isinstance(q, dict) or "unit" not in q:
                    err(f"{eid}.{iid}: quantity needs value+unit")
                elif q.get("value") is not None and not isinstance(q["value"], (int, float)):
                    err(f"{eid}.{iid}: quantity value must be a number or null")
            if kind == "offers" and "required_certifications" in it:
                err(f"{eid}.{iid}: offers cannot have required_certifications")
    # offer and need ids should not collide within a firm (avoids ambiguity)
    oids = {o["id"] for o in e.get("offers") or []}
    nids = {n["id"] for n in e.get("needs") or []}
    if oids & nids:
        err(f"{eid}: offer/need id collision {oids & nids}")

offers = {(e["id"], o["id"]): o for e in ents for o in e.get("offers") or []}
needs = {(e["id"], n["id"]): n for e in ents for n in e.get("needs") or []}

# ---------- cases ----------
cases = yaml.safe_load(open(os.path.join(HERE, "cases.yaml"), encoding="utf-8"))["cases"]
ALLOWED_CASE_TAGS = {"plain", "synonym", "category_specific", "suffix", "description_context",
                     "distractor_downstream", "out_of_circle", "firm_style", "inferred",
                     "certification"}
CASE_RE = re.compile(r"^[a-z0-9-]{1,64}$")
case_ids = set()
n_supplier = n_buyer = 0
tag_count = collections.Counter()
tag_by_kind = {"supplier": collections.Counter(), "buyer": collections.Counter()}

for c in cases:
    cid = c.get("id")
    if not cid or not CASE_RE.match(cid):
        err(f"bad case id {cid!r}")
    if cid in case_ids:
        err(f"duplicate case id {cid}")
    case_ids.add(cid)
    tags = c.get("tags") or []
    if not tags:
        err(f"{cid}: no tags")
    for t in tags:
        if t not in ALLOWED_CASE_TAGS:
            err(f"{cid}: unknown tag {t}")
    if len(set(tags)) != len(tags):
        err(f"{cid}: duplicate tags")
    if not (c.get("reasoning") or "").strip():
        err(f"{cid}: reasoning missing")

    q = c.get("query") or {}
    asker = None
    need_obj = None
    if "need_of" in q:
        kind = "supplier"
        asker = q["need_of"].get("enterprise")
        nid = q["need_of"].get("need")
        if (asker, nid) not in needs:
            err(f"{cid}: query need {asker}.{nid} not found")
        need_obj = needs.get((asker, nid))
    elif "buyers_of" in q:
        kind = "buyer"
        asker = q["buyers_of"].get("enterprise")
        oid = q["buyers_of"].get("offer")
        if (asker, oid) not in offers:
            err(f"{cid}: query offer {asker}.{oid} not found")
    elif "need" in q:
        kind = "supplier"
        need_obj = q["need"]
        if not need_obj.get("product"):
            err(f"{cid}: ad-hoc need without product")
    elif "offer" in q:
        kind = "buyer"
        if not q["offer"].get("product"):
            err(f"{cid}: ad-hoc offer without product")
    else:
        err(f"{cid}: unknown query form {list(q)}")
        continue
    if ("need" in q or "offer" in q):
        rc = q.get("region_code")
        if not isinstance(rc, str) or not is_county(rc):
            err(f"{cid}: ad-hoc region_code {rc!r} not a county-level code")

    if kind == "supplier":
        n_supplier += 1
    else:
        n_buyer += 1
    for t in tags:
        tag_count[t] += 1
        tag_by_kind[kind][t] += 1

    pool = offers if kind == "supplier" else needs
    refs_seen = set()
    rel = c.get("relevant") or []
    if not rel:
        err(f"{cid}: no relevant items")
    for section in ("relevant", "distractors", "must_not"):
        for r in c.get(section) or []:
            ent, item = r.get("enterprise"), r.get("item")
            if ent not in E:
                err(f"{cid}/{section}: enterprise {ent} not in corpus")
                continue
            if asker and ent == asker:
                err(f"{cid}/{section}: asking firm {ent} appears in its own case")
            if item is None:
                if section != "relevant" or kind != "buyer":
                    err(f"{cid}/{section}: null item only allowed for relevant in buyer cases")
            elif (ent, item) not in pool:
                err(f"{cid}/{section}: {ent}.{item} not found among "
                    f"{'offers' if kind == 'supplier' else 'needs'}")
            key = (ent, item)
            if key in refs_seen:
                err(f"{cid}: {ent}.{item} listed twice")
            refs_seen.add(key)
            if section == "relevant" and r.get("grade") not in (1, 2, 3):
                err(f"{cid}: bad grade {r.get('grade')} for {ent}.{item}")
    # an inferred (null) firm should not also be listed item-wise in the same case
    null_firms = {r["enterprise"] for r in rel if r.get("item") is None}
    for section in ("relevant", "distractors", "must_not"):
        for r in c.get(section) or []:
            if r.get("item") is not None and r["enterprise"] in null_firms:
                err(f"{cid}: {r['enterprise']} is an inferred (null) buyer and also listed item-wise")

    # tag consistency
    if "inferred" in tags and not null_firms:
        err(f"{cid}: tagged inferred but no null relevant")
    if null_firms and "inferred" not in tags:
        err(f"{cid}: has null relevant but no inferred tag")
    if kind == "supplier":
        ooc = [r for r in rel if r.get("grade", 0) >= 2 and not in_circle(E[r["enterprise"]]["region_code"])]
        if "out_of_circle" in tags and not ooc:
            err(f"{cid}: tagged out_of_circle but no out-of-circle relevant with grade>=2")
        if ooc and "out_of_circle" not in tags:
            warn(f"{cid}: out-of-circle relevant supplier but no out_of_circle tag")
    req = (need_obj or {}).get("required_certifications") or []
    if req:
        if "certification" not in tags:
            warn(f"{cid}: need requires {req} but case not tagged certification")
        for r in rel:
            certs = set(E[r["enterprise"]].get("certifications") or [])
            if not set(req) <= certs:
                err(f"{cid}: relevant {r['enterprise']} lacks required {req}")
        for r in c.get("must_not") or []:
            certs = set(E[r["enterprise"]].get("certifications") or [])
            if set(req) <= certs:
                warn(f"{cid}: must_not {r['enterprise']} actually holds {req}")
    elif "certification" in tags:
        err(f"{cid}: tagged certification but the need has no required_certifications")

# ---------- thresholds ----------
ooc_firms = [e for e in ents if not in_circle(e["region_code"])]
if n_supplier < 40:
    err(f"only {n_supplier} supplier cases (<40)")
if n_buyer < 15:
    err(f"only {n_buyer} buyer cases (<15)")
for t in ("category_specific", "suffix", "description_context", "distractor_downstream", "out_of_circle"):
    if tag_count[t] < 5:
        err(f"tag {t} used {tag_count[t]} times (<5)")
if tag_count["firm_style"] < 8:
    err(f"firm_style used {tag_count['firm_style']} times (<8)")
if tag_by_kind["buyer"]["inferred"] < 6:
    err(f"inferred used in {tag_by_kind['buyer']['inferred']} buyer cases (<6)")
if len(ooc_firms) < 12:
    err(f"only {len(ooc_firms)} out-of-circle firms (<12)")

# ---------- report ----------
print(f"firms: {len(ents)}  (in circle {len(ents) - len(ooc_firms)}, out of circle {len(ooc_firms)})")
print(f"offers: {len(offers)}  needs: {len(needs)}")
print(f"cases: {len(cases)}  supplier: {n_supplier}  buyer: {n_buyer}")
print("cases per tag:", dict(sorted(tag_count.items(), key=lambda kv: -kv[1])))
print("  supplier:", dict(tag_by_kind["supplier"]))
print("  buyer:   ", dict(tag_by_kind["buyer"]))
for w in warnings:
    print("WARN:", w)
for e_ in errors:
    print("ERROR:", e_)
print("OK" if not errors else f"FAILED ({len(errors)} errors)")
sys.exit(1 if errors else 0)
