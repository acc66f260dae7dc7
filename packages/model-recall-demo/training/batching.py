"""Turn dialogues into token tensors (shared by train.py and evaluate.py).

Memory dialogue tokens (n = the dialogue's number of memory vectors, 1..MAX_VECTORS):
    <s> prompt prefix <recall> [SLOT]×n memory-text </s>
    Each [SLOT] holds <pad> as a token id but its input embedding is replaced by a memory vector.
    Loss: on every assistant token (prefix, <recall>, memory text, </s>) except the targets of
    <recall> and of the first n-1 slots (their next inputs are vectors, not tokens).
Memory vectors: final-norm hidden states of  <s> memory-text </s> <pad>×(n-1)  at </s> and at
each <pad>. The first (at </s>) is the retrieval key and, alone, the seed's one-vector value;
because attention is causal, the n-vector value extends the (n-1)-vector one.
"""

from __future__ import annotations

import random

import torch

import tok
from data import FACT_TYPES, LANGS, NOISE_PROB, Dialogue, World, general_dialogue, memory_dialogue, rag_dialogue

IGNORE = -100
MAX_VECTORS = 8


def encode_memory(text: str, n_vectors: int = 1) -> list[int]:
    """<s> text </s> <pad>×(n-1): the key is the state at </s>, the values the last n states."""
    return [tok.BOS_ID] + tok.encode(text, special=False) + [tok.EOS_ID] + [tok.PAD_ID] * (n_vectors - 1)


def encode_dialogue(d: Dialogue) -> tuple[list[int], list[int], int, list[int]]:
    """ids, targets (IGNORE where no loss), first slot position (-1 if none), content mask."""
    ids = [tok.BOS_ID] + tok.encode(d.prompt)
    start = len(ids) - 1  # first position whose target is an assistant token
    slot, n = -1, d.n_vectors
    if d.kind == "memory":
        ids += tok.encode(d.reply_before) + [tok.RECALL_ID] + [tok.PAD_ID] * n
        slot = len(ids) - n
        ids += tok.encode(d.memory, special=False) + [tok.EOS_ID]
    else:
        ids += tok.encode(d.reply_before, special=False) + [tok.EOS_ID]
    tgt = [IGNORE] * len(ids)
    content = [0] * len(ids)
    for t in range(start, len(ids) - 1):
        if slot >= 0 and slot - 1 <= t < slot + n - 1:
            continue
        tgt[t] = ids[t + 1]
        if slot >= 0 and t >= slot:
            content[t] = 1
    return ids, tgt, slot, content


def pad_to(rows: list[list[int]], value: int, mult: int = 8) -> torch.Tensor:
    L = max(len(r) for r in rows)
    L = (L + mult - 1) // mult * mult
    return torch.tensor([r + [value] * (L - len(r)) for r in rows], dtype=torch.long)


def make_batch(world: World, rng: random.Random, n_people: int, facts_per_person: int, n_general: int,
               n_rag: int, user_prob: float = 0.5, split: str = "train", open_prob: float = 0.0,
               n_vectors_list: tuple[int, ...] = (1,), n_vectors_open: tuple[int, ...] = (MAX_VECTORS,)
               ) -> dict[str, torch.Tensor]:
    """open_prob: share of people whose values are random strings (taught with n_vectors_open
    vectors); the others have list values and draw n from n_vectors_list for each question."""
    dialogues: list[Dialogue] = []
    for i in range(n_people):
        lang = rng.choice(LANGS)
        is_open = rng.random() < open_prob
        p = world.person(rng, lang, user=(i == 0 and rng.random() < user_prob), split=split, open_values=is_open)
        for ft in rng.sample(FACT_TYPES, facts_per_person):
            n = rng.choice(n_vectors_open if is_open else n_vectors_list)
            dialogues.append(memory_dialogue(world, rng, p, ft, split, n))
    n_mem = len(dialogues)
    for _ in range(n_rag):
        p = world.person(rng, rng.choice(LANGS), user=rng.random() < 0.1, split=split)
        dialogues.append(rag_dialogue(world, rng, p, rng.choice(FACT_TYPES), split))
    for _ in range(n_general):
        dialogues.append(general_dialogue(world, rng, rng.choice(LANGS), split))
    return collate(dialogues, n_mem)


def collate(dialogues: list[Dialogue], n_mem: int) -> dict[str, torch.Tensor]:
    enc = [encode_dialogue(d) for d in dialogues]
    mem = [encode_memory(d.memory, d.n_vectors) for d in dialogues[:n_mem]]
    out = {
        "ids": pad_to([e[0] for e in enc], tok.PAD_ID),
        "tgt": pad_to([e[1] for e in enc], IGNORE),
        "content": pad_to([e[3] for e in enc], 0),
        "slot": torch.tensor([e[2] for e in enc], dtype=torch.long),
        "mem_ids": pad_to(mem, tok.PAD_ID) if mem else torch.zeros(0, 8, dtype=torch.long),
        "mem_eos": torch.tensor([len(m) - d.n_vectors for m, d in zip(mem, dialogues)], dtype=torch.long),
        "nvec": torch.tensor([d.n_vectors if d.kind == "memory" else 0 for d in dialogues], dtype=torch.long),
    }
    return out


class BatchStream(torch.utils.data.IterableDataset):
    """Endless, reproducible stream of batches. Each DataLoader worker gets its own seed derived
    from (seed, start_step, worker id); DataLoader interleaves workers round-robin, so the stream
    is a deterministic function of (seed, start_step, num_workers)."""

    def __init__(self, seed: int, start_step: int, batch_cfg: dict, data_version: int = 1,
                 noise_prob: float = NOISE_PROB) -> None:
        self.seed, self.start_step, self.batch_cfg = seed, start_step, batch_cfg
        self.data_version = data_version  # data.World's corpus version (config "data_version")
        self.noise_prob = noise_prob  # data_version 5: share of questions with word noise (config "noise_prob")

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        rng = random.Random(f"{self.seed}:{self.start_step}:{wid}")
        world = World(self.data_version, self.noise_prob)
        while True:
            yield make_batch(world, rng, **self.batch_cfg)
