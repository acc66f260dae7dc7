"""Evaluate the recall model on people never seen in training -> eval.json.

    python evaluate.py --ckpt DIR --out eval.json [--people 1000] [--device cuda]
    (CPU smoke version: --people 40 --general 40 --heldout-people 20 --device cpu)

PyTorch only (the same forward as llama.cpp; see verify-llamacpp.mjs). Greedy decoding.
Pipeline per question, as mnemo runs it:
  1. prompt "User: {q}\nAssistant: "; generate until <recall> or </s>  -> trigger
  2. query = final-norm hidden state at <recall> (if the model did not trigger, <recall> is
     appended to the prompt so retrieval can still be measured); cosine against the keys
  3. inject ONE vector after <recall> (the right memory's, the retrieved one's, or a wrong
     person's) and generate until </s>  -> exact fact / end-to-end / wrong-memory control
Memory key = value = final-norm hidden state at </s> of "<s>{memory text}</s>".
Also: text-RAG baseline (memory text in the prompt as "Context: ...", no vector), and the
trigger rate on general questions (seen families and held-out families/items).
Two test sets written by someone who never saw this corpus:
lists/questions_extra.json (a second held-out phrasing set; stages 6-8 trained on it, data_version
4-6, so their figures there are not a test) and lists/general_blind.json (general questions, for the false-trigger rate).
Per held-out phrasing: trigger rate, retrieval and which fact's memory won ("heldout_phrasings").
With lists/general_val.json present, also its <recall> rate ("general_validation", a set for choosing
between runs); --general-sets-only measures just the blind and validation general sets (about 10
minutes on 2 CPU cores, fp32).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

import tok
from batching import encode_memory
from data import (FACT_TYPES, LANGS, LISTS, NOISE_PROB, PROMPT, RAG_PROMPT, World, bigrams, overlaps, fill_phrasing,
                  make_people, near_phrasing, open_value_items, phrasing_index)
from train import load_model


Inject = list[tuple[int, torch.Tensor] | None]  # per row: (first position, (n, d) vectors) or None


def inject_tensors(inject: Inject | None, d: int, dev) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(B, K) positions (-1 = none) and (B, K, d) vectors for model.hidden."""
    if inject is None:
        return None, None
    K = max([x[1].shape[0] for x in inject if x is not None] or [1])
    ip = torch.full((len(inject), K), -1, dtype=torch.long)
    iv = torch.zeros(len(inject), K, d)
    for j, x in enumerate(inject):
        if x is not None:
            n = x[1].shape[0]
            ip[j, :n] = torch.arange(x[0], x[0] + n)
            iv[j, :n] = x[1]
    return ip.to(dev), iv.to(dev)


@torch.no_grad()
def hidden_rows(model, seqs: list[list[int]], pos: list[int], dev, bs: int, n: int = 1,
                inject: Inject | None = None) -> torch.Tensor:
    """Hidden states at pos..pos+n-1 of each sequence: (len(seqs), n, d)."""
    out = []
    for i in range(0, len(seqs), bs):
        chunk = seqs[i:i + bs]
        T = max(len(s) for s in chunk)
        ids = torch.full((len(chunk), T), tok.PAD_ID, dtype=torch.long)
        for j, s in enumerate(chunk):
            ids[j, :len(s)] = torch.tensor(s)
        ids = ids.to(dev)
        ip, iv = inject_tensors(None if inject is None else inject[i:i + bs], model.cfg.d_model, dev)
        h = model.hidden(ids, ip, iv)
        p = torch.tensor(pos[i:i + bs], device=dev)[:, None] + torch.arange(n, device=dev)[None, :]
        out.append(h[torch.arange(len(chunk), device=dev)[:, None], p].float().cpu())
    return torch.cat(out) if out else torch.zeros(0, n, model.cfg.d_model)


def hidden_at(model, seqs, pos, dev, bs, inject=None) -> torch.Tensor:
    return hidden_rows(model, seqs, pos, dev, bs, 1, inject)[:, 0]


@torch.no_grad()
def generate(model, seqs: list[list[int]], dev, bs: int, max_new: int, stop: set[int],
             inject: Inject | None = None) -> list[list[int]]:
    """Greedy continuation of each sequence (right-padded batch, full recompute per step)."""
    res: list[list[int]] = []
    stop_t = torch.tensor(sorted(stop), device=dev)
    for i in range(0, len(seqs), bs):
        chunk = seqs[i:i + bs]
        n = len(chunk)
        L = max(len(s) for s in chunk) + max_new
        buf = torch.full((n, L), tok.PAD_ID, dtype=torch.long)
        for j, s in enumerate(chunk):
            buf[j, :len(s)] = torch.tensor(s)
        buf = buf.to(dev)
        lens = torch.tensor([len(s) for s in chunk], device=dev)
        start = lens.clone()
        ip, iv = inject_tensors(None if inject is None else inject[i:i + bs], model.cfg.d_model, dev)
        done = torch.zeros(n, dtype=torch.bool, device=dev)
        ar = torch.arange(n, device=dev)
        for _ in range(max_new):
            T = int(lens.max())
            h = model.hidden(buf[:, :T], ip, iv)
            nxt = model.logits(h[ar, lens - 1]).argmax(-1)
            active = ~done
            buf[ar[active], lens[active]] = nxt[active]
            lens = lens + active.long()
            done = done | torch.isin(nxt, stop_t)
            if bool(done.all()):
                break
        b, s0, l1 = buf.cpu(), start.cpu(), lens.cpu()
        res += [b[j, s0[j]:l1[j]].tolist() for j in range(n)]
    return res


def prompt_ids(q: str) -> list[int]:
    """Token ids of the prompt for question q, BOS first, as mnemo's loop builds it."""
    return [tok.BOS_ID] + tok.encode(PROMPT.format(q=q))


def text_of(ids: list[int]) -> str:
    return tok.decode([t for t in ids if t not in (tok.EOS_ID,)], keep_special=True)


def rate(xs) -> float:
    xs = list(xs)
    return round(sum(xs) / len(xs), 4) if xs else None


def run_queries(model, world, rng, people, keys, vals, qitems, phr_split, dev, bs, wrong_shift=2, full=True,
                qs: list[str] | None = None):
    """qitems: list of (person index, ftype); keys (n_people*6, d); vals (n_people*6, n, d).
    wrong_shift=2: the wrong memory is another person of the same language (people alternate zh/en).
    full=False: only the right-vector answer (no retrieved / wrong / text-RAG runs).
    Returns per-item result dicts."""
    n_ft = len(FACT_TYPES)
    qs = qs or [world.question(rng, people[pi], ft, phr_split) for pi, ft in qitems]
    prompts = [prompt_ids(q) for q in qs]
    g1 = generate(model, prompts, dev, bs, 40, {tok.EOS_ID, tok.RECALL_ID})
    trig = [len(g) > 0 and g[-1] == tok.RECALL_ID for g in g1]
    qseq = [p + g if t else p + [tok.RECALL_ID] for p, g, t in zip(prompts, g1, trig)]
    q = hidden_at(model, qseq, [len(s) - 1 for s in qseq], dev, bs)
    sim = F.normalize(q, dim=-1) @ F.normalize(keys, dim=-1).t()  # (nq, n_people*6)
    right = torch.tensor([pi * n_ft + FACT_TYPES.index(ft) for pi, ft in qitems])
    top_all = sim.argmax(-1)
    own = torch.stack([sim[i, pi * n_ft:(pi + 1) * n_ft] for i, (pi, _) in enumerate(qitems)])
    top_own = own.argmax(-1) + torch.tensor([pi * n_ft for pi, _ in qitems])
    wrong = [((pi + wrong_shift) % len(people)) * n_ft + FACT_TYPES.index(ft) for pi, ft in qitems]
    n = vals.shape[1]
    seqs = [s + [tok.PAD_ID] * n for s in qseq]
    slot = [len(s) - n for s in seqs]

    def answer(idx):
        inj = [(slot[i], vals[idx[i]]) for i in range(len(seqs))]
        return [text_of(g) for g in generate(model, seqs, dev, bs, 72, {tok.EOS_ID}, inj)]

    a_right = answer(right.tolist())
    if full:
        a_ret = answer(top_all.tolist())
        a_wrong = answer(wrong)
        rag_prompts = [[tok.BOS_ID] + tok.encode(RAG_PROMPT.format(m=people[pi].memory(ft), q=qq))
                       for (pi, ft), qq in zip(qitems, qs)]
        a_rag = [text_of(g) for g in generate(model, rag_prompts, dev, bs, 72, {tok.EOS_ID, tok.RECALL_ID})]
    else:
        a_ret = a_wrong = a_rag = [""] * len(qitems)
    out = []
    for i, (pi, ft) in enumerate(qitems):
        p = people[pi]
        wp = people[(pi + wrong_shift) % len(people)]
        val, mem = p.facts[ft], p.memory(ft)
        out.append({
            "lang": p.lang, "ftype": ft, "question": qs[i], "triggered": trig[i],
            "prefix": text_of(g1[i]),
            "ret_own": bool(top_own[i] == right[i]), "ret_all": bool(top_all[i] == right[i]),
            "answer": a_right[i], "value_ok": val in a_right[i], "text_ok": a_right[i] == mem,
            "e2e_ok": val in a_ret[i],
            "wrong_answer": a_wrong[i], "wrong_memory": wp.memory(ft),
            "wrong_follows": wp.facts[ft] in a_wrong[i], "wrong_gives_right": val in a_wrong[i],
            "wrong_comparable": wp.facts[ft] != val and wp.facts[ft] not in val and val not in wp.facts[ft],
            "rag_answer": a_rag[i], "rag_ok": val in a_rag[i] and "<recall>" not in a_rag[i],
            "value": val, "value_bytes": len(val.encode()),
        })
    return out


def summarize(items: list[dict]) -> dict:
    s = {
        "n": len(items),
        "trigger_rate": rate(r["triggered"] for r in items),
        "retrieval@1_within_person": rate(r["ret_own"] for r in items),
        "retrieval@1_among_all": rate(r["ret_all"] for r in items),
        "exact_value_right_vector": rate(r["value_ok"] for r in items),
        "exact_memory_text_right_vector": rate(r["text_ok"] for r in items),
        "end_to_end_value_retrieved_vector": rate(r["e2e_ok"] for r in items),
        "text_rag_value": rate(r["rag_ok"] for r in items),
    }
    comp = [r for r in items if r["wrong_comparable"]]
    s["wrong_memory_follows_wrong"] = rate(r["wrong_follows"] for r in comp)
    s["wrong_memory_gives_right"] = rate(r["wrong_gives_right"] for r in comp)
    by = defaultdict(list)
    for r in items:
        by[r["lang"]].append(r)
        by[r["ftype"]].append(r)
    s["by_group"] = {k: {"n": len(v), "exact_value": rate(r["value_ok"] for r in v),
                         "retrieval@1_among_all": rate(r["ret_all"] for r in v),
                         "trigger_rate": rate(r["triggered"] for r in v)} for k, v in sorted(by.items())}
    return s


VECTOR_COUNTS = [1, 2, 4, 8]
LENGTH_BUCKETS = [(1, 8), (9, 16), (17, 24)]


def known_pieces(world: World) -> set[str]:
    """Every word (en) and character (zh) of every training-list value: a held-out value with a
    piece outside this set contains a new word."""
    out: set[str] = set()
    for by_lang in world.values.values():
        for lang, splits in by_lang.items():
            for v in splits["train"]:
                out.update(v.split() if lang == "en" else v)
    return out


def value_summary(items: list[dict], known: set[str]) -> dict:
    """Exact answers (right vectors): the answer equals the memory text, so the value is spelled
    exactly and nothing follows it (a one-byte value cannot pass by appearing somewhere). Overall, by
    language, by value length in bytes, and for values with several words or with a word /
    character never in a training list."""
    def new_piece(r):
        return any(x not in known for x in (r["value"].split() if r["lang"] == "en" else r["value"]))

    groups = {
        "zh": [r for r in items if r["lang"] == "zh"], "en": [r for r in items if r["lang"] == "en"],
        **{f"{a}-{b}_bytes": [r for r in items if a <= r["value_bytes"] <= b] for a, b in LENGTH_BUCKETS},
        "multi_word": [r for r in items if " " in r["value"]],
        "new_word_or_character": [r for r in items if new_piece(r)],
    }
    return {"n": len(items), "exact": rate(r["text_ok"] for r in items),
            "by_group": {k: {"n": len(v), "exact": rate(r["text_ok"] for r in v)} for k, v in groups.items() if v}}


@torch.no_grad()
def phrasing_table(model, people, keys, dev, bs: int, phrasings: dict[str, dict[str, list[str]]],
                   per_phrasing: int = 20) -> list[dict]:
    """Every phrasing in phrasings[fact type][lang], asked (unwrapped) about the first `per_phrasing`
    people of its language: trigger rate, within-person retrieval@1 and which fact type's memory
    won. Worst first."""
    rows = []
    for ft in FACT_TYPES:
        for lang in LANGS:
            named = [(pi, p) for pi, p in enumerate(people) if p.lang == lang and p.name][:per_phrasing]
            for t in phrasings[ft][lang]:
                rows += [(ft, lang, t, pi, fill_phrasing(t, p)) for pi, p in named]
    prompts = [prompt_ids(r[4]) for r in rows]
    g = generate(model, prompts, dev, bs, 40, {tok.EOS_ID, tok.RECALL_ID})
    trig = [len(x) > 0 and x[-1] == tok.RECALL_ID for x in g]
    qseq = [p + x if t else p + [tok.RECALL_ID] for p, x, t in zip(prompts, g, trig)]
    q = F.normalize(hidden_at(model, qseq, [len(s) - 1 for s in qseq], dev, bs), dim=-1)
    n_ft = len(FACT_TYPES)
    table: dict[tuple[str, str, str], dict] = {}
    for i, (ft, lang, t, pi, _) in enumerate(rows):
        own = q[i] @ F.normalize(keys[pi * n_ft:(pi + 1) * n_ft], dim=-1).t()
        won = FACT_TYPES[int(own.argmax())]
        r = table.setdefault((ft, lang, t), {"ftype": ft, "lang": lang, "phrasing": t, "n": 0, "triggered": 0,
                                             "retrieved": 0, "won": defaultdict(int)})
        r["n"] += 1
        r["triggered"] += trig[i]
        r["retrieved"] += won == ft
        r["won"][won] += 1
    out = [{"ftype": r["ftype"], "lang": r["lang"], "phrasing": r["phrasing"], "n": r["n"],
            "trigger_rate": round(r["triggered"] / r["n"], 4),
            "retrieval@1_within_person": round(r["retrieved"] / r["n"], 4), "won": dict(r["won"])}
           for r in table.values()]
    return sorted(out, key=lambda r: (r["retrieval@1_within_person"], r["trigger_rate"]))


def table_summary(table: list[dict]) -> dict:
    """Question-weighted trigger rate and retrieval@1 over phrasing_table() rows."""
    n = sum(r["n"] for r in table)
    return {"phrasings": len(table), "n": n,
            "trigger_rate": round(sum(r["n"] * r["trigger_rate"] for r in table) / n, 4) if n else None,
            "retrieval@1_within_person": round(sum(r["n"] * r["retrieval@1_within_person"] for r in table) / n, 4)
            if n else None}


def independent_phrasings(model, people, keys, dev, bs: int, per_phrasing: int = 10) -> dict:
    """A second held-out phrasing test: lists/questions_extra.json, 840 phrasings written by someone
    who never saw questions.json or the held-out set, minus those near a held-out phrasing (the
    World(4) filter). Stages 6-8 trained on them (data_version 4-6); stages 1-5 and 9 did not. Split
    into those near a training phrasing (questions.json's training part or paraphrase.py's, bigram
    Jaccard ≥ 0.6) and those far from all of them."""
    w4 = World(4)
    table = phrasing_table(model, people, keys, dev, bs,
                           {ft: {lang: w4.phr[ft][lang]["extra"] for lang in LANGS} for ft in FACT_TYPES}, per_phrasing)
    training = {lang: phrasing_index([t for ft in FACT_TYPES for t in w4.phr[ft][lang]["train"] + w4.phr[ft][lang]["generated"]])
                for lang in LANGS}
    for r in table:
        r["near_training"] = near_phrasing(r["phrasing"], training[r["lang"]])
    return {"all": table_summary(table),
            "near_training": table_summary([r for r in table if r["near_training"]]),
            "far_from_training": table_summary([r for r in table if not r["near_training"]]),
            "by_lang": {lang: table_summary([r for r in table if r["lang"] == lang]) for lang in LANGS},
            "phrasings": table}


@torch.no_grad()
def general_set(model, dev, bs: int, name: str, train_world: World | None = None) -> dict:
    """`<recall>` rate on a list of general questions, lists/{name} ({"zh": [...], "en": [...]}).
    general_blind.json: 240 questions (a third naming a person or a personal topic) by a writer who
    never saw this corpus, the test set, never trained on (from data_version 6 nothing near it is).
    general_val.json: 300 more by another such writer, for choosing between runs so that the blind
    set stays a test (18 of them are word for word in stage 10's training and 8 in the blind set);
    with train_world (the checkpoint's corpus) the rate is also given without the questions within
    bigram Jaccard 0.5 of a training general question or of a blind one ("far_from_training_and_blind")."""
    qs = json.loads((LISTS / name).read_text(encoding="utf-8"))
    near_grams = None
    if train_world is not None:
        blind = json.loads((LISTS / "general_blind.json").read_text(encoding="utf-8"))
        near_grams = [bigrams(q) for lang in LANGS for q, _ in train_world.chat[lang]["train"]]
        near_grams += [bigrams(q) for lang in LANGS for q in blind[lang]]
    out, far = {}, []
    for lang in LANGS:
        prompts = [prompt_ids(q) for q in qs[lang]]
        fired = [tok.RECALL_ID in g for g in generate(model, prompts, dev, bs, 48, {tok.EOS_ID, tok.RECALL_ID})]
        out[lang] = {"n": len(fired), "triggered": sum(fired), "trigger_rate": rate(fired),
                     "false_triggers": [q for q, f in zip(qs[lang], fired) if f]}
        if near_grams is not None:
            far += [f for q, f in zip(qs[lang], fired) if not overlaps(bigrams(q), near_grams, 0.5)]
    n, fired = sum(v["n"] for v in out.values()), sum(v["triggered"] for v in out.values())
    res = {"n": n, "trigger_rate": round(fired / n, 4), "by_lang": out}
    if near_grams is not None:
        res["far_from_training_and_blind"] = {"n": len(far), "trigger_rate": rate(far)}
    return res


def general_sets(model, dev, bs: int, state: dict) -> dict:
    """The blind general test sets (lists/general_blind.json; lists/general_test.json, 300 questions
    by a fourth writer, written before stage 11 was trained and read only after it was chosen) and
    the validation set, lists/general_val.json."""
    out = {"general_blind": general_set(model, dev, bs, "general_blind.json")}
    if (LISTS / "general_test.json").exists():
        out["general_test"] = general_set(model, dev, bs, "general_test.json")
    if (LISTS / "general_val.json").exists():
        cfg = state.get("config", {})
        # a GGUF does not record its training corpus (its "step" names the file): then no far split;
        # checkpoints of stages 1-3 have no data_version key and were trained on version 1
        from_gguf = isinstance(state.get("step"), str)
        train_world = None if from_gguf else World(cfg.get("data_version", 1), cfg.get("noise_prob", NOISE_PROB))
        out["general_validation"] = general_set(model, dev, bs, "general_val.json", train_world)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", help="training checkpoint directory (train.py)")
    ap.add_argument("--gguf", help="or: the exported GGUF (f16 weights), e.g. ../model/mnemo-recall-demo.gguf")
    ap.add_argument("--out", required=True)
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--questions-per-person", type=int, default=2)
    ap.add_argument("--heldout-people", type=int, default=300)
    ap.add_argument("--general", type=int, default=1000)
    ap.add_argument("--open-people", type=int, default=600, help="people with random values (n-vector test)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--bs", type=int, default=1024)
    ap.add_argument("--samples", type=int, default=12, help="example answers kept in the JSON")
    ap.add_argument("--general-sets-only", action="store_true",
                    help="only the blind and validation general sets' <recall> rates (minutes on a CPU)")
    args = ap.parse_args()
    t0 = time.time()
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    if args.gguf:
        from export_gguf import load_from_gguf

        model, state = load_from_gguf(args.gguf, dev)
    else:
        model, state = load_model(Path(args.ckpt), dev)
    model.eval()
    if args.general_sets_only:
        out = {"checkpoint_step": state["step"], **general_sets(model, dev, args.bs, state)}
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1))
        print(json.dumps({k: v["trigger_rate"] if isinstance(v, dict) else v for k, v in out.items()}))
        return
    world = World()
    rng = random.Random(f"eval:{args.seed}")

    def encode(people, n=1):
        """keys (N*6, d) and n-vector values (N*6, n, d), as mnemo's encoder makes them. Attention
        is causal, so the first k of these n vectors are the k-vector value: slice, do not re-run."""
        mems = [encode_memory(p.memory(ft), n) for p in people for ft in FACT_TYPES]
        vals = hidden_rows(model, mems, [len(m) - n for m in mems], dev, args.bs, n)
        return vals[:, 0], vals

    # 1) people with values from the training lists (new combinations), 1000 in one namespace
    people = make_people(world, rng, args.people, "train")
    keys, vals1 = encode(people)
    qitems = [(pi, ft) for pi in range(len(people)) for ft in rng.sample(FACT_TYPES, args.questions_per_person)]
    res_seen = run_queries(model, world, rng, people, keys, vals1, qitems, "train", dev, args.bs)
    res_held = run_queries(model, world, rng, people, keys, vals1, qitems, "heldout", dev, args.bs)
    # 2) people whose values are all held out of training (their own namespace of N people)
    hpeople = make_people(world, rng, args.heldout_people, "heldout")
    hkeys, hvals = encode(hpeople, VECTOR_COUNTS[-1])
    hitems = [(pi, ft) for pi in range(len(hpeople)) for ft in FACT_TYPES]
    res_hval = run_queries(model, world, rng, hpeople, hkeys, hvals[:, :1], hitems, "train", dev, args.bs)
    hq = [r["question"] for r in res_hval]
    known = known_pieces(world)
    hval_by_n = {}
    for n in VECTOR_COUNTS:
        res = res_hval if n == 1 else run_queries(model, world, rng, hpeople, hkeys, hvals[:, :n], hitems,
                                                  "train", dev, args.bs, full=False, qs=hq)
        hval_by_n[n] = value_summary(res, known)
    # 2b) random values never seen (open vocabulary), 1..24 bytes, through n vectors
    opeople, oitems, oq = open_value_items(world, args.seed, args.open_people)
    okeys, ovals = encode(opeople, VECTOR_COUNTS[-1])
    open_by_n = {}
    for n in VECTOR_COUNTS:
        res = run_queries(model, world, rng, opeople, okeys, ovals[:, :n], oitems, "train", dev, args.bs,
                          full=False, qs=oq)
        open_by_n[n] = value_summary(res, known)
        if n == VECTOR_COUNTS[-1]:
            open_fail = [{k: r[k] for k in ("question", "value", "answer")} for r in res if not r["text_ok"]]
    smallest = {name: next((n for n in VECTOR_COUNTS if by_n[n]["exact"] >= 0.95), None)
                for name, by_n in [("random_values_up_to_24_bytes", open_by_n), ("heldout_list_values", hval_by_n)]}
    # 3) general questions (no memory needed)
    gen_rates = {}
    gen_samples = {}
    for split in ["train", "heldout"]:
        items = [world.general_item(rng, LANGS[i % 2], split) for i in range(args.general)]
        fams, qa = [f for f, _, _ in items], [(q, a) for _, q, a in items]
        prompts = [prompt_ids(q) for q, _ in qa]
        g = generate(model, prompts, dev, args.bs, 48, {tok.EOS_ID, tok.RECALL_ID})
        fired = [tok.RECALL_ID in x for x in g]
        gen_rates[split] = {"n": len(qa), "trigger_rate": rate(fired),
                            "answer_exact": rate(text_of(x) == a for x, (_, a) in zip(g, qa)),
                            "trigger_rate_by_family": {
                                f: {"n": fams.count(f), "trigger_rate": rate(fi for fi, ff in zip(fired, fams) if ff == f)}
                                for f in sorted(set(fams))}}
        gen_samples[split] = [{"q": q, "answer": text_of(x)} for (q, _), x in list(zip(qa, g))[:args.samples]]
        gen_samples[split + "_false_triggers"] = [q for (q, _), f in zip(qa, fired) if f][:20]

    out = {
        "checkpoint_step": state["step"],
        "device": args.device,
        "seconds": round(time.time() - t0, 1),
        "setup": {"people": args.people, "memories_in_namespace": len(keys),
                  "questions_per_person": args.questions_per_person, "heldout_value_people": args.heldout_people,
                  "general_questions_per_split": args.general, "open_value_people": args.open_people,
                  "vectors_per_memory": "1 unless stated", "decoding": "greedy"},
        "train_values_seen_phrasing": summarize(res_seen),
        "train_values_heldout_phrasing": summarize(res_held),
        "heldout_values_seen_phrasing": summarize(res_hval),
        "general_questions": gen_rates,
        "heldout_phrasings": phrasing_table(model, people, keys, dev, args.bs,
                                            {ft: {lang: world.phr[ft][lang]["heldout"] for lang in LANGS}
                                             for ft in FACT_TYPES}),
        "independent_phrasings": independent_phrasings(model, people, keys, dev, args.bs),
        **general_sets(model, dev, args.bs, state),
        "vectors_per_memory": {
            "note": "answer == memory text with the right memory's n vectors (hidden states at </s> and "
                    "n-1 <pad> after the memory text), by n; random values: open_people people, 2 questions each",
            "random_values_up_to_24_bytes": open_by_n,
            "heldout_list_values": hval_by_n,
            "smallest_n_reaching_0.95": smallest,
        },
        "samples": {
            "seen_phrasing": [{k: r[k] for k in ("question", "prefix", "answer", "rag_answer")} for r in res_seen[:args.samples]],
            "heldout_phrasing_failures": [{k: r[k] for k in ("question", "prefix", "answer", "ret_all")}
                                          for r in res_held if not (r["ret_all"] and r["value_ok"])][:args.samples],
            "wrong_memory": [{k: r[k] for k in ("question", "wrong_memory", "wrong_answer")} for r in res_seen[:args.samples]],
            "heldout_values_failures": [{k: r[k] for k in ("question", "answer")} for r in res_hval if not r["value_ok"]][:args.samples],
            f"random_values_failures_{VECTOR_COUNTS[-1]}_vectors": open_fail[:args.samples],
            "general": gen_samples,
        },
    }
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1))
    brief = {k: {kk: vv for kk, vv in v.items() if kk != "by_group"} if isinstance(v, dict) and "n" in v else v
             for k, v in out.items() if k not in ("samples", "heldout_phrasings", "independent_phrasings")}
    brief["independent_phrasings"] = {k: v for k, v in out["independent_phrasings"].items() if k != "phrasings"}
    brief["heldout_phrasings_worst"] = [f"{r['retrieval@1_within_person']:.2f} trig {r['trigger_rate']:.2f} "
                                        f"{r['phrasing']} -> {r['won']}" for r in out["heldout_phrasings"][:10]]
    print(json.dumps(brief, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
