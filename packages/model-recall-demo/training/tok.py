"""Byte-level tokenizer that mirrors llama.cpp's SPM ("llama") tokenizer on the
vocabulary written by export_gguf.py.

Vocabulary (262 tokens):
    0 <unk> (UNKNOWN), 1 <s> (BOS, CONTROL), 2 </s> (EOS, CONTROL),
    3..258 byte tokens <0x00>..<0xFF> (BYTE),
    259 <recall> (USER_DEFINED),
    260 '\u2581' (NORMAL: llama.cpp escapes every space to U+2581 before
        tokenizing, so the space gets one token instead of three bytes),
    261 <pad> (CONTROL; never produced by tokenize()).

With no multi-character pieces, llama.cpp's SPM merge loop never merges, so a
text becomes: '\u2581' for each space (and each literal U+2581), byte tokens of
the UTF-8 encoding for every other character, and special tokens where their
text appears (when parse_special is on). add_space_prefix is false.
"""

from __future__ import annotations

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
BYTE0 = 3
RECALL_ID = 259
SPACE_ID = 260
PAD_ID = 261
VOCAB_SIZE = 262
RECALL = "<recall>"
SPIECE_SPACE = "\u2581"

SPECIALS = {"<recall>": RECALL_ID, "<s>": BOS_ID, "</s>": EOS_ID, "<pad>": PAD_ID}


def vocab_pieces() -> list[str]:
    toks = ["<unk>", "<s>", "</s>"]
    toks += [f"<0x{b:02X}>" for b in range(256)]
    toks += [RECALL, SPIECE_SPACE, "<pad>"]
    assert len(toks) == VOCAB_SIZE
    return toks


def _encode_plain(text: str, out: list[int]) -> None:
    for ch in text:
        if ch == " " or ch == SPIECE_SPACE:
            out.append(SPACE_ID)
        else:
            out.extend(BYTE0 + b for b in ch.encode("utf-8"))


def encode(text: str, special: bool = True) -> list[int]:
    """Tokens of `text` (no BOS), as llama.cpp tokenize(text, add_special=false, parse_special=special)."""
    out: list[int] = []
    if not special:
        _encode_plain(text, out)
        return out
    i = 0
    n = len(text)
    start = 0
    while i < n:
        if text[i] == "<":
            hit = None
            for piece, tid in SPECIALS.items():
                if text.startswith(piece, i):
                    hit = (piece, tid)
                    break
            if hit is not None:
                _encode_plain(text[start:i], out)
                out.append(hit[1])
                i += len(hit[0])
                start = i
                continue
        i += 1
    _encode_plain(text[start:], out)
    return out


def decode(ids: list[int], keep_special: bool = True) -> str:
    buf = bytearray()
    parts: list[str] = []
    for t in ids:
        if BYTE0 <= t < BYTE0 + 256:
            buf.append(t - BYTE0)
            continue
        if buf:
            parts.append(buf.decode("utf-8", errors="replace"))
            buf = bytearray()
        if t == SPACE_ID:
            parts.append(" ")
        elif keep_special:
            parts.append({RECALL_ID: RECALL, BOS_ID: "<s>", EOS_ID: "</s>", PAD_ID: "<pad>", UNK_ID: "<unk>"}.get(t, ""))
    if buf:
        parts.append(buf.decode("utf-8", errors="replace"))
    return "".join(parts)
