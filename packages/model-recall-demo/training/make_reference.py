"""Write a reference file for verify-llamacpp.mjs: Python tokenization of corpus strings and
PyTorch (fp32, CPU) next-token log-probabilities for a few prompts.

    python make_reference.py --ckpt DIR --out ref.json [--n-strings 3000]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

import tok
from data import FACT_TYPES, LANGS, World, dialogue_text, general_dialogue, memory_dialogue, rag_dialogue
from train import load_model


def corpus_strings(n: int, seed: int = 7) -> list[str]:
    w, rng = World(), random.Random(seed)
    out = []
    for i in range(n):
        split = "heldout" if i % 4 == 3 else "train"
        lang = rng.choice(LANGS)
        r = rng.random()
        p = w.person(rng, lang, user=rng.random() < 0.15, split=split)
        if r < 0.5:
            d = memory_dialogue(w, rng, p, rng.choice(FACT_TYPES), split)
        elif r < 0.6:
            d = rag_dialogue(w, rng, p, rng.choice(FACT_TYPES), split)
        else:
            d = general_dialogue(w, rng, lang, split)
        out.append(dialogue_text(d))
    out += ["hello  world", " leading space", "tabs\tand\nnewlines", "emoji 🙂 and ▁ char", "<recall><recall>x",
            "a<recall> b", "", "   ", "混合 text 与 spaces ", "ÀÉÎõü ß", "1990年1月1日"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-strings", type=int, default=3000)
    args = ap.parse_args()
    model, _ = load_model(Path(args.ckpt))
    model.eval()
    strings = corpus_strings(args.n_strings)
    toks = [tok.encode(s) for s in strings]
    prompts = ["User: When is Alice Smith's birthday?\nAssistant: ", "User: 王伟住在哪里？\nAssistant: ",
               "User: What is 3 plus 4?\nAssistant: ", "User: 我对什么过敏？\nAssistant: 让我回忆一下<recall>",
               strings[0], strings[1]]
    logs = []
    with torch.no_grad():
        for p in prompts:
            ids = [tok.BOS_ID] + tok.encode(p)
            lg, _ = model(torch.tensor([ids]))
            logs.append({"prompt": p, "ids": ids, "logprobs": torch.log_softmax(lg[0, -1].double(), -1).tolist()})
    Path(args.out).write_text(json.dumps({"strings": strings, "tokens": toks, "prompts": logs}, ensure_ascii=False))
    print(f"wrote {args.out}: {len(strings)} strings, {len(logs)} prompts")


if __name__ == "__main__":
    main()
