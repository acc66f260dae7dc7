"""Seeded synthetic bilingual (zh + en) corpus for the recall demo model.

Everything is generated from the lists in ./lists and a seed; nothing is downloaded.

A *person* has a language (zh or en), a name and six personal facts (birthday, home city,
job, pet's name, allergy, favourite food). Each fact is a *memory text*, e.g.
"王伟的生日是1990年3月5日" or "Alice Smith's birthday is March 5, 1990". A "user" person
(the speaker themself) has the subject "用户" / "The user" and is asked with "我" / "my".

Dialogues (the model is trained on these strings; see train.py for the token layout):
  memory question:  <s>User: {question}\nAssistant: {prefix}<recall>[VEC]{memory text}</s>
                    [VEC] is one input position whose embedding is the memory vector.
  general question: <s>User: {question}\nAssistant: {answer}</s>          (no <recall>)
  text-RAG:         <s>Context: {memory text}\nUser: {question}\nAssistant: {memory text}</s>

Held out (never in training, used by evaluate.py): ~10% of every value list (and of dates),
every 5th question phrasing per fact type and language, some general-question families
entirely, and every 5th fixed chit-chat / knowledge question.
Test-only lists, written blind to this corpus: lists/general_blind.json (never trained on; from
data_version 6 nothing near it is either, bar noisy copies of a few chat.tsv items, and from 8 not
those), lists/questions_extra.json (trained on by data_version 4-6, stages 6-8; unseen by stages 1-5,
9 and 10) and lists/general_val.json (300 general questions for choosing between runs, so that the
blind set stays a test; written blind, but versions up to 8 do not keep items near it out: 18 are
word for word in version 8's training, and 8 in the blind set; a new data_version should drop
them, as it does for the blind set).

Usage:  python data.py --seed 0 --n 20      (prints sample dialogues)
        python data.py --export-eval fx.json --seed 7 --people 100 --heldout-people 30 --general 200
                                            (evaluation fixture for ../eval/loop-eval.mjs;
                                             --open-people N adds evaluate.py's random-value people)
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from paraphrase import normalize, paraphrases

LISTS = Path(__file__).resolve().parent / "lists"
FACT_TYPES = ["birthday", "city", "job", "pet", "allergy", "food"]
LANGS = ["zh", "en"]
HOLDOUT_SEED = 12345  # fixes the held-out split independently of the corpus seed
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAYS_ZH = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]

GENERATED_PHRASING_PROB = 0.65  # training questions drawn from paraphrase.py's phrasings
EXTRA_PHRASING_PROB = 0.25  # data_version 4-6 (stages 6-8): drawn from lists/questions_extra.json instead
NOISE_PROB = 0.5  # data_version 5+: share of training questions (memory and general) given word noise
# (the shipped stages use 0.5; config "noise_prob" sets it, e.g. 0.3 in config-stage7-noise0.3.json)
PROMPT = "User: {q}\nAssistant: "
RAG_PROMPT = "Context: {m}\nUser: {q}\nAssistant: "
RECALL = "<recall>"

RECALL_PREFIX = {
    "en": ["Let me recall. ", "Let me check. ", "One moment. ", "Let me think. ", "Checking my memory. ", ""],
    "zh": ["让我回忆一下", "我想想", "稍等，我查一下", "让我想想", "我查一下记忆", ""],
}
WRAPPERS = {
    "en": ["{q}", "{q}", "{q}", "Hey, {q}", "Quick question: {q}", "Hi! {q}", "{q} Thanks.", "Please answer: {q}",
           "I have a question. {q}", "{q} Thank you!", "Hello. {q}", "Excuse me, {q}", "So, {q}", "Tell me: {q}"],
    "zh": ["{q}", "{q}", "{q}", "请问{q}", "你好，{q}", "问一下，{q}", "{q}谢谢。", "麻烦告诉我：{q}", "我有个问题：{q}",
           "嗨，{q}", "对了，{q}", "想问问，{q}"],
}


def _read_lines(name: str) -> list[str]:
    return [ln.strip() for ln in (LISTS / name).read_text(encoding="utf-8").splitlines() if ln.strip()]


def _read_tsv(name: str) -> list[list[str]]:
    return [ln.split("\t") for ln in _read_lines(name)]


def _split(items: list, frac: float = 0.1, salt: str = "") -> tuple[list, list]:
    """Deterministic (train, held-out) split: frac of the items held out."""
    rng = random.Random(f"{HOLDOUT_SEED}:{salt}")
    idx = list(range(len(items)))
    rng.shuffle(idx)
    k = max(1, round(len(items) * frac))
    held = set(idx[:k])
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def _date_held_out(d: dt.date) -> bool:
    return random.Random(f"{HOLDOUT_SEED}:date:{d.toordinal()}").random() < 0.1


OPEN_MAX_BYTES = 28  # longest random value trained (the issue asks for 24 bytes; a margin beyond)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def bigrams(t: str) -> set[str]:
    """Character bigrams of t, normalised (normalize()), without the {N}/{P} placeholders."""
    n = normalize(t.replace("{N}", "").replace("{P}", ""))
    return {n[i:i + 2] for i in range(len(n) - 1)}


def overlaps(g: set[str], held_grams: list[set[str]], threshold: float) -> bool:
    """True if bigram set g has Jaccard similarity ≥ threshold with any of held_grams."""
    return any(g and h and len(g & h) / len(g | h) >= threshold for h in held_grams)


class GramIndex:
    """overlaps(g, grams, threshold) for a fixed list of bigram sets, answered through an inverted
    index (bigram -> the sets holding it): only sets sharing a bigram with g are compared. Same
    result as overlaps() for a threshold above 0 (0.5 is used; at 0 or below overlaps() also counts
    sets that share no bigram), with far fewer set operations: the held-out check runs for every
    training general question, against 828 sets from data_version 9 (and World() holds the 3,471 written messages up to the
    blind sets once per data-loader worker)."""

    def __init__(self, grams: list[set[str]]) -> None:
        self.sizes = [len(h) for h in grams]
        self.index: dict[str, list[int]] = {}
        for i, h in enumerate(grams):
            for b in h:
                self.index.setdefault(b, []).append(i)

    def overlaps(self, g: set[str], threshold: float) -> bool:
        shared: dict[int, int] = {}
        for b in g:
            for i in self.index.get(b, ()):
                shared[i] = shared.get(i, 0) + 1
        return any(n / (len(g) + self.sizes[i] - n) >= threshold for i, n in shared.items())


PhrasingIndex = tuple[set[str], list[set[str]]]  # normalised phrasings, their bigram sets


def phrasing_index(phrasings: list[str]) -> PhrasingIndex:
    """What near_phrasing() compares against, built once (it is checked per training sample)."""
    return {normalize(h) for h in phrasings}, [bigrams(h) for h in phrasings]


def near_phrasing(t: str, index: PhrasingIndex, threshold: float = 0.6) -> bool:
    """True if phrasing t equals one of the indexed phrasings or shares most of its character
    bigrams with one (Jaccard ≥ threshold, placeholders ignored)."""
    return normalize(t) in index[0] or overlaps(bigrams(t), index[1], threshold)


def fill_phrasing(t: str, p: Person) -> str:
    """Phrasing template t asked about person p: {N} is the name, {P} its possessive; the speaker
    ("the user", no name) is 我 / "I" / "my"."""
    if p.lang == "zh":
        return t.replace("{N}", p.name or "我")
    q = t.replace("{P}", f"{p.name}'s" if p.name else "my").replace("{N}", p.name or "I")
    return q[0].upper() + q[1:]


def random_string(rng: random.Random, lang: str, n_bytes: int) -> str:
    """A random value of about `n_bytes` UTF-8 bytes (never more), never seen in any list:
    en: one to four random lowercase words (sometimes capitalised, sometimes with digits);
    zh: random CJK characters from U+4E00..U+9FA5 (every UTF-8 lead byte E4..E9), sometimes with a
    random Latin word. Used for open-vocabulary training and evaluation (several vectors)."""
    if lang == "zh" and n_bytes >= 3:
        out = ""
        while len(out.encode()) + 3 <= n_bytes:
            if rng.random() < 0.08 and len(out.encode()) + 4 <= n_bytes:
                k = rng.randint(2, min(6, n_bytes - len(out.encode())))
                out += "".join(rng.choice(LETTERS) for _ in range(k))
            else:
                out += chr(rng.randint(0x4E00, 0x9FA5))
        return out
    cap = rng.random() < 0.25
    alphabet = LETTERS + ("0123456789" if rng.random() < 0.1 else "")
    words: list[str] = []
    length = 0
    while True:
        room = n_bytes - length - (1 if words else 0)  # a space goes before every word but the first
        if room < 1:
            break
        k = room if not words and rng.random() < 0.35 else min(room, rng.randint(2, 9))
        w = "".join(rng.choice(alphabet) for _ in range(k))
        words.append(w.capitalize() if cap else w)
        length += k + (1 if len(words) > 1 else 0)
    return " ".join(words)


def random_any_date(rng: random.Random, lang: str) -> str:
    """A random date with any year 1000..2999 (outside every training list's years)."""
    d = dt.date(1000, 1, 1) + dt.timedelta(days=rng.randrange(0, 730484))
    return fmt_date(d, lang)


def fmt_date(d: dt.date, lang: str) -> str:
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


@dataclass
class Person:
    lang: str
    name: str  # "" for the user
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def is_user(self) -> bool:
        return self.name == ""

    def memory(self, ftype: str) -> str:
        return memory_text(self.lang, self.name, ftype, self.facts[ftype])


def memory_text(lang: str, name: str, ftype: str, value: str) -> str:
    if lang == "zh":
        n = name or "用户"
        return {
            "birthday": f"{n}的生日是{value}", "city": f"{n}住在{value}", "job": f"{n}的职业是{value}",
            "pet": f"{n}的宠物叫{value}", "allergy": f"{n}对{value}过敏", "food": f"{n}最喜欢的食物是{value}",
        }[ftype]
    n = name or "The user"
    p = f"{name}'s" if name else "The user's"
    return {
        "birthday": f"{p} birthday is {value}", "city": f"{n} lives in {value}", "job": f"{p} job is {value}",
        "pet": f"{p} pet is called {value}", "allergy": f"{n} is allergic to {value}",
        "food": f"{p} favourite food is {value}",
    }[ftype]


class World:
    """Value lists, names, phrasings and general-question generators with their held-out splits."""

    def __init__(self, data_version: int = 1, noise_prob: float = NOISE_PROB) -> None:
        """data_version 1: the corpus of stages 1-3 (and evaluate.py's test items); 2: stage 4's
        (broader paraphrase vocabulary, lists/knowledge.tsv, name-string and name-frame families);
        3: stage 5's (2 plus "the X of {N}" name questions, Chinese questions about English names,
        more knowledge questions); 4: stage 6's (3 plus lists/questions_extra.json, phrasings
        written without sight of questions.json, for a quarter of training questions); 5: stage 7's
        (3 plus word noise on a share `noise_prob` of training questions, memory and general alike:
        see noisy()); 6: stage 8's (5 plus lists/general_more.tsv, 1,600 messages to an assistant
        written without sight of the blind test set, minus any near an item of lists/general_blind.json
        or of the held-out general items). Versions 5 and 6 also kept version 4's draw from
        lists/questions_extra.json (a quarter of training questions): stages 7 and 8 trained on it.
        7: stage 9's, 6 without lists/questions_extra.json, so that it is a test set again.
        8: stage 10's, 7 plus lists/general_more2.tsv (800 more messages, written blind like
        general_more.tsv and held to the same bar; 50 of its questions repeat general_more.tsv's, 47
        with other answers; about 30 pass the filters, and both copies are trained); a general question is checked against the
        held-out and blind items before its word noise as well as after (so a noisy copy of a near
        item cannot slip through), and the noise never drops a word the answer repeats verbatim (a
        name, a number: dropping it taught the model to make names up). Not covered: answers that
        change the case ("WRITE ... IN CAPITALS" families) or reverse the text (spell_back): about 1% of noisy
        general samples in a review's count; a later version should compare case-insensitively.
        9: 8 plus lists/general_more3.tsv (1,071 messages by two more writers, 1,200 before repeats
        were removed, held to the same bar);
        lists/general_val.json and lists/general_test.json are kept out like the blind set; the
        written messages are 12 of the 45 training families' draws (27%; 7 of 40, 17.5%, before); the
        noise protects name-like words only, case-insensitively (_echoed_names)."""
        self.data_version = data_version
        self.noise_prob = noise_prob
        self.values: dict[str, dict[str, dict[str, list[str]]]] = {}  # ftype -> lang -> split -> values
        for ftype, fname in [("city", "cities.tsv"), ("food", "foods.tsv"), ("job", "jobs.tsv"),
                             ("allergy", "allergies.tsv")]:
            rows = _read_tsv(fname)
            tr, ho = _split(rows, 0.1, ftype)
            self.values[ftype] = {
                "en": {"train": [r[0] for r in tr], "heldout": [r[0] for r in ho]},
                "zh": {"train": [r[1] for r in tr], "heldout": [r[1] for r in ho]},
            }
        self.values["pet"] = {}
        for lang in LANGS:
            tr, ho = _split(_read_lines(f"pets_{lang}.txt"), 0.1, f"pet{lang}")
            self.values["pet"][lang] = {"train": tr, "heldout": ho}
        self.first_en = _read_lines("first_en.txt")
        self.last_en = _read_lines("last_en.txt")
        self.sur_zh = _read_lines("surnames_zh.txt")
        self.given_zh = _read_lines("given_zh.txt")
        q = json.loads((LISTS / "questions.json").read_text(encoding="utf-8"))
        self.phr: dict[str, dict[str, dict[str, list[str]]]] = {}
        for ftype in FACT_TYPES:
            self.phr[ftype] = {}
            for lang in LANGS:
                lst = q[ftype][lang]
                held = [t for i, t in enumerate(lst) if i % 5 == 4]
                self.phr[ftype][lang] = {
                    "train": [t for i, t in enumerate(lst) if i % 5 != 4],
                    "heldout": held,
                    "generated": paraphrases(ftype, lang, held, more=data_version >= 2),  # training only
                }
        # held-out phrasings of each language: no training phrasing may come near one
        self.heldout_phrasing_index = {
            lang: phrasing_index([t for ft in FACT_TYPES for t in self.phr[ft][lang]["heldout"]]) for lang in LANGS}
        if data_version >= 4:
            # Phrasings written independently of questions.json (the writer never saw it or the
            # held-out set), minus any that are near a held-out phrasing of the same language.
            extra = json.loads((LISTS / "questions_extra.json").read_text(encoding="utf-8"))
            self.dropped_extra: list[str] = []
            for lang in LANGS:
                for ftype in FACT_TYPES:
                    kept = []
                    for t in extra[ftype][lang]:
                        near = near_phrasing(t, self.heldout_phrasing_index[lang])
                        (self.dropped_extra if near else kept).append(t)
                    self.phr[ftype][lang]["extra"] = sorted(set(kept))
        self.capitals = _read_tsv("capitals.tsv")
        chat = _read_tsv("chat.tsv")
        self.chat: dict[str, dict[str, list[tuple[str, str]]]] = {lang: {"train": [], "heldout": []} for lang in LANGS}
        for lang in LANGS:
            rows = [(r[1], r[2]) for r in chat if r[0] == lang]
            self.chat[lang]["train"] = [r for i, r in enumerate(rows) if i % 5 != 4]
            self.chat[lang]["heldout"] = [r for i, r in enumerate(rows) if i % 5 == 4]
        # Extra training-only chit-chat (hard negatives that mention birthdays, pets, cities, ...),
        # minus anything equal to a held-out item.
        self.heldout_general = {normalize(q) for lang in LANGS for q, _ in self.chat[lang]["heldout"]}
        self.heldout_general_index = GramIndex([bigrams(h) for h in self.heldout_general])  # checked per sample
        extra = _read_tsv("chat_extra.tsv") + (_read_tsv("knowledge.tsv") if data_version >= 2 else [])
        if data_version >= 6:
            # lists/general_blind.json is a test set only (evaluate.py): nothing near it is trained on
            # (versions 6-7 check each drawn question after its word noise only, so a noisy copy of a
            # near item can slip through; version 8 checks it before the noise too).
            # Its writer and general_more.tsv's think alike (28 of the 1,600 came out word for word),
            # so the bank is held to a stricter bar: under 0.4 bigram Jaccard, no shared full name.
            # Version 9 keeps the validation set (lists/general_val.json) and a second blind test set
            # (lists/general_test.json) out the same way.
            sets = ["general_blind.json"] + (["general_val.json", "general_test.json"] if data_version >= 9 else [])
            blind = {lang: [q for f in sets for q in json.loads((LISTS / f).read_text(encoding="utf-8"))[lang]]
                     for lang in LANGS}
            self.heldout_general |= {normalize(q) for lang in LANGS for q in blind[lang]}
            self.heldout_general_index = GramIndex([bigrams(h) for h in self.heldout_general])
            blind_index = GramIndex([bigrams(q) for lang in LANGS for q in blind[lang]])
            blind_names = set(re.findall(r"[A-Z][a-z]+ [A-Z][a-z]+", " ".join(blind["en"])))
            bank = _read_tsv("general_more.tsv") + (_read_tsv("general_more2.tsv") if data_version >= 8 else []) \
                + (_read_tsv("general_more3.tsv") if data_version >= 9 else [])
            self.dropped_bank = [r for r in bank
                                 if blind_index.overlaps(bigrams(r[1]), 0.4) or any(n in r[1] for n in blind_names)]
            extra += [r for r in bank if r not in self.dropped_bank]
        for r in extra:
            if not self.near_heldout_general(r[1]):
                self.chat[r[0]]["train"].append((r[1], r[2]))
        self.general_families = self.GENERAL_FAMILIES + (self.GENERAL_FAMILIES_V2 if data_version >= 2 else []) \
            + (self.GENERAL_FAMILIES_V3 if data_version >= 3 else []) \
            + (self.GENERAL_FAMILIES_V9 if data_version >= 9 else [])
        self.sur_zh_set = set(self.sur_zh)
        cap_tr, cap_ho = _split(self.capitals, 0.2, "capitals")
        self.capitals_split = {"train": cap_tr, "heldout": cap_ho}
        # Words that noisy() inserts: those of the training general questions (en: words; zh: runs
        # of Chinese characters, cut to 1-2 characters when drawn). Some are list values or fact words
        # ("pizza", "birthday"): noise, not a cue.
        self.noise_words = {
            "en": sorted({w.lower() for q, _ in self.chat["en"]["train"] for w in re.findall(r"[A-Za-z]+", q)}),
            "zh": sorted({r for q, _ in self.chat["zh"]["train"] for r in re.findall(r"[\u4e00-\u9fff]+", q)}),
        }

    # Words of the held-out general families: a training item using them would leak the family.
    HELDOUT_FAMILY_WORDS = ["leap", "闰年", "initial", "首字母", "缩写", "minutes are in", "个小时是多少分钟",
                            "month comes after", "下一个月"]

    def near_heldout_general(self, q: str) -> bool:
        """True if q equals a held-out chit-chat item or (data_version 2) shares most of its
        character bigrams with one (Jaccard ≥ 0.5: a rewording) or uses a held-out family's words;
        such items stay out of training."""
        n = normalize(q)
        if n in self.heldout_general:
            return True
        if self.data_version < 2:  # stages 1-3 used the exact rule only (kept: reproducible)
            return False
        if any(w in q.lower() for w in self.HELDOUT_FAMILY_WORDS):
            return True
        return self.heldout_general_index.overlaps(bigrams(q), 0.5)

    # ---- people -------------------------------------------------------------------------
    def random_name(self, rng: random.Random, lang: str) -> str:
        if lang == "zh":
            return rng.choice(self.sur_zh) + rng.choice(self.given_zh)
        return f"{rng.choice(self.first_en)} {rng.choice(self.last_en)}"

    def random_date(self, rng: random.Random, split: str) -> dt.date:
        while True:
            d = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 25567))  # 1940..2009
            if _date_held_out(d) == (split == "heldout"):
                return d

    def random_value(self, rng: random.Random, ftype: str, lang: str, split: str = "train") -> str:
        if ftype == "birthday":
            return fmt_date(self.random_date(rng, split), lang)
        return rng.choice(self.values[ftype][lang][split])

    def person(self, rng: random.Random, lang: str, user: bool = False, split: str = "train",
               open_values: bool = False, open_max_bytes: int = OPEN_MAX_BYTES) -> Person:
        """open_values: facts are random strings of 1..open_max_bytes bytes (birthdays: any year)."""
        p = Person(lang=lang, name="" if user else self.random_name(rng, lang))
        for ftype in FACT_TYPES:
            if not open_values:
                p.facts[ftype] = self.random_value(rng, ftype, lang, split)
            elif ftype == "birthday":
                p.facts[ftype] = random_any_date(rng, lang)
            else:
                p.facts[ftype] = random_string(rng, lang, rng.randint(1, open_max_bytes))
        return p

    # ---- questions ----------------------------------------------------------------------
    def question(self, rng: random.Random, p: Person, ftype: str, split: str = "train",
                 wrap: bool = True) -> str:
        templates = self.phr[ftype][p.lang][split]
        if split == "train":
            u = rng.random()
            # versions 4-6 (stages 6-8) drew from questions_extra.json; from 7 it is a test set again
            if u < EXTRA_PHRASING_PROB and 4 <= self.data_version <= 6:
                templates = self.phr[ftype][p.lang]["extra"]
            elif u < GENERATED_PHRASING_PROB:
                templates = self.phr[ftype][p.lang]["generated"]
        if p.lang == "en" and p.is_user:
            templates = [t for t in templates if "{N}" not in t] or templates
        t = rng.choice(templates)
        if split == "train" and self.data_version >= 5 and rng.random() < self.noise_prob:
            noisy = self.noisy(rng, t, p.lang)
            if not near_phrasing(noisy, self.heldout_phrasing_index[p.lang]):
                t = noisy
        q = fill_phrasing(t, p)
        return self.wrap(rng, q, p.lang) if wrap else q

    def wrap(self, rng: random.Random, q: str, lang: str) -> str:
        w = rng.choice(WRAPPERS[lang])
        if lang == "en":
            if rng.random() < 0.1 and q.endswith("?"):
                q = q[:-1]
            if w.endswith(", {q}") and not q.startswith("I "):
                q = q[0].lower() + q[1:]
        else:
            if rng.random() < 0.1 and q.endswith("？"):
                q = q[:-1]
        return w.replace("{q}", q)

    # en: words as written (punctuation and "{P}'s" stay attached); zh: characters, with placeholders,
    # runs of Latin letters or digits (English names, numbers) and spaces kept whole
    NOISE_TOKEN = {"en": re.compile(r"\S+"), "zh": re.compile(r"\{[NP]\}|[A-Za-z0-9'’]+|\s+|.")}

    def noisy(self, rng: random.Random, q: str, lang: str, protect: str = "") -> str:
        """q with word noise, the random deletion, insertion and swap of EDA (Wei & Zou 2019, "EDA:
        Easy Data Augmentation Techniques for Boosting Performance on Text Classification"), so that
        no single word decides whether to recall or which memory: each word (en) or character (zh)
        is dropped with probability 0.1 unless it holds a placeholder ({N}, {P}) or a digit;
        0-2 words of the training general questions are inserted; one adjacent pair is swapped with
        probability 0.3. Synonym replacement is left out (no thesaurus ships here).
        protect (data_version 8+: a general question's answer; version 9 protects name-shaped words
        only, see _echoed_names): words it repeats verbatim are never
        dropped or swapped (en: a word found in it as a whole word, case-sensitively, less "'s", if
        capitalised with 2+ letters or of 4+ letters; zh: a character inside a 2-character run found in
        it, or a Latin/digit run found in it), so that the answer does not name what the question lost.
        Inserted words can still land inside a protected name. Answers that reverse the text ("排牛")
        protect nothing; in version 8, neither do answers that change the case ("HUGO MATTHEWS")."""
        toks = self.NOISE_TOKEN[lang].findall(q)
        echoed = self._echoed(toks, protect, lang) if protect else set()
        keep = lambda t: "{N}" in t or "{P}" in t or t.isspace() or any(c.isdigit() for c in t)  # noqa: E731
        out = [(t, i in echoed) for i, t in enumerate(toks) if i in echoed or keep(t) or rng.random() >= 0.1]
        if all(keep(t) for t, _ in out):
            out = [(t, i in echoed) for i, t in enumerate(toks)]
        for _ in range(rng.choice([0, 1, 1, 2])):
            w = rng.choice(self.noise_words[lang])
            if lang == "zh":
                i = rng.randrange(len(w))
                w = w[i:i + rng.choice([1, 2])]
            out.insert(rng.randrange(len(out) + 1), (w, False))
        if len(out) > 2 and rng.random() < 0.3:
            i = rng.randrange(len(out) - 1)
            if not (out[i][1] or out[i + 1][1]):  # an echoed word keeps its place too
                out[i], out[i + 1] = out[i + 1], out[i]
        return ("" if lang == "zh" else " ").join(t for t, _ in out)

    def _echoed(self, toks: list[str], answer: str, lang: str) -> set[int]:
        """Indices of the tokens of noisy() that `answer` repeats (see noisy's protect)."""
        if self.data_version >= 9:
            return self._echoed_names(toks, answer, lang)
        if lang == "en":
            words = [re.sub(r"^\W+|(['’]s)?\W*$", "", t) for t in toks]  # "Taylor's?" -> "Taylor"
            return {i for i, w in enumerate(words)  # a name, a number, a content word; not "is", "the"
                    if (len(w) >= 4 or (len(w) >= 2 and w[0].isupper())) and re.search(rf"\b{re.escape(w)}\b", answer)}
        out: set[int] = set()
        for i, t in enumerate(toks):
            if len(t) > 1 and not t.isspace() and t in answer:  # a Latin or digit run, e.g. an English name
                out.add(i)
            elif i + 1 < len(toks) and len(t) == 1 == len(toks[i + 1]) and t + toks[i + 1] in answer:
                out |= {i, i + 1}  # a 2-character run of the answer (a name, a place, a term)
        return out

    def _echoed_names(self, toks: list[str], answer: str, lang: str) -> set[int]:
        """data_version 9: name-shaped words are protected, compared case-insensitively ("HUGO
        MATTHEWS" protects "Hugo Matthews"). Version 8 protected every echoed word of 4+ letters or
        2 characters as well, about 35% of the deletable words of general questions and half of them
        in the name families, which left those hard negatives with little noise. en: a capitalised
        word of 2+ letters, less "'s", found in the answer as a whole word; zh: a Latin run found in
        the answer (an English name), or the longest run of 2-4 characters found in it that starts
        with a surname character of lists/surnames_zh.txt (a Chinese name; "欧阳帆" as well as
        "王伟"). The rule is a shape, not a name detector: it also keeps capitalised non-names the
        answer repeats: about 14% of protected English words in a review's 20,000 draws (a sentence's
        first word, "Is", "The", 5%; months, weekdays, language names such as "Chinese") and Chinese runs that start with a
        surname character ("周末", "熊猫", "马拉松") or run past a name ("余海涛的"): about half of
        the protected Chinese runs."""
        low = answer.lower()
        if lang == "en":
            words = [re.sub(r"^\W+|(['’]s)?\W*$", "", t) for t in toks]
            return {i for i, w in enumerate(words)
                    if len(w) >= 2 and w[0].isupper() and re.search(rf"\b{re.escape(w.lower())}\b", low)}
        out: set[int] = set()
        for i, t in enumerate(toks):
            if len(t) > 1 and not t.isspace() and re.search(r"[A-Za-z]", t) and t.lower() in low:
                out.add(i)
            elif len(t) == 1 and (t in self.sur_zh_set or "".join(toks[i:i + 2]) in self.sur_zh_set):
                for k in (4, 3, 2):  # the longest run the answer repeats
                    run = toks[i:i + k]
                    if len(run) == k and all(len(x) == 1 for x in run) and "".join(run) in answer:
                        out |= set(range(i, i + k))
                        break
        return out

    def recall_prefix(self, rng: random.Random, lang: str) -> str:
        return rng.choice(RECALL_PREFIX[lang])

    # ---- general questions (answered without <recall>) --------------------------------
    GENERAL_FAMILIES = ["arith", "capital", "translate", "weekday_next", "name_letters", "greet", "chat",
                        "compare", "date_weekday", "spell_back", "uppercase", "month_days", "count",
                        # hard negatives: name a person or a fact type, yet need no memory
                        "birthday_wish", "surname", "weather", "recommend", "thanks", "chat",
                        # stage 3: questions shaped like memory questions ("{N}的X是什么？") about
                        # things answerable without a memory
                        "name_facts", "name_facts", "month_before", "number_facts", "opposite", "legs",
                        # held-out families (never in training):
                        "leap_year", "minutes", "name_initials", "month_after"]
    HELDOUT_FAMILIES = {"leap_year", "minutes", "name_initials", "month_after"}
    # stage 4 (data_version 2): more negatives that name a person, some in the memory questions'
    # own frames ("What is {P} {X}?", "{N}的{X}是什么？") with X an attribute of the name itself,
    # and a bank of general-knowledge questions (lists/knowledge.tsv)
    GENERAL_FAMILIES_V2 = ["name_string", "name_string", "name_frames", "name_frames", "name_frames",
                           "chat", "chat", "chat"]

    def general(self, rng: random.Random, lang: str, split: str = "train") -> tuple[str, str]:
        """A general question (wrapped) and its answer."""
        return self.general_item(rng, lang, split)[1:]

    def general_item(self, rng: random.Random, lang: str, split: str = "train") -> tuple[str, str, str]:
        """(family, question, answer): general() with the family it came from (for per-family rates)."""
        fams = [f for f in self.general_families if (f in self.HELDOUT_FAMILIES) == (split == "heldout")]
        if split == "heldout":
            fams = fams + ["chat"]  # held-out chit-chat / knowledge items
        while True:
            fam = rng.choice(fams)
            q, a = getattr(self, f"_g_{fam}")(rng, lang, split)
            if split != "train":
                return fam, self.wrap(rng, q, lang), a
            # version 8 checks the clean question (a noisy copy could hide its match), and a noisy
            # copy again; a question left clean is not checked twice (this runs for every sample)
            checked = self.data_version >= 8
            if checked and self.near_heldout_general(q):
                continue
            if self.data_version >= 5 and rng.random() < self.noise_prob:
                q = self.noisy(rng, q, lang, protect=a if self.data_version >= 8 else "")
                checked = False  # the noisy copy is checked again
            if checked or not self.near_heldout_general(q):
                return fam, self.wrap(rng, q, lang), a

    def _g_arith(self, rng, lang, split):
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        op = rng.choice(["+", "-", "*"])
        if op == "*":
            a, b = rng.randint(2, 12), rng.randint(2, 12)
        r = {"+": a + b, "-": a - b, "*": a * b}[op]
        if lang == "zh":
            w = {"+": "加", "-": "减", "*": "乘"}[op]
            return rng.choice([f"{a}{w}{b}等于多少？", f"{a}{w}{b}是多少？", f"算一下{a}{w}{b}。"]), f"{a}{w}{b}等于{r}。"
        w = {"+": "plus", "-": "minus", "*": "times"}[op]
        return rng.choice([f"What is {a} {w} {b}?", f"Calculate {a} {w} {b}.", f"How much is {a} {w} {b}?"]), f"{a} {w} {b} is {r}."

    def _g_capital(self, rng, lang, split):
        c = rng.choice(self.capitals_split[split])
        if lang == "zh":
            return rng.choice([f"{c[2]}的首都是哪里？", f"{c[2]}的首都是什么？"]), f"{c[2]}的首都是{c[3]}。"
        return rng.choice([f"What is the capital of {c[0]}?", f"Which city is the capital of {c[0]}?"]), \
            f"The capital of {c[0]} is {c[1]}."

    def _g_translate(self, rng, lang, split):
        ftype = rng.choice(["city", "food", "job", "allergy"])
        i = rng.randrange(len(self.values[ftype]["en"]["train"]))
        en, zh = self.values[ftype]["en"]["train"][i], self.values[ftype]["zh"]["train"][i]
        if lang == "zh":
            return rng.choice([f"“{zh}”用英语怎么说？", f"{zh}的英文是什么？"]), f"“{zh}”的英文是{en}。"
        return rng.choice([f"How do you say {en} in Chinese?", f"What is {en} in Chinese?"]), f"{en} in Chinese is {zh}."

    def _g_weekday_next(self, rng, lang, split):
        i = rng.randrange(7)
        if lang == "zh":
            return f"{WEEKDAYS_ZH[i]}的后一天是星期几？", f"{WEEKDAYS_ZH[i]}的后一天是{WEEKDAYS_ZH[(i + 1) % 7]}。"
        return f"What day comes after {WEEKDAYS_EN[i]}?", f"{WEEKDAYS_EN[(i + 1) % 7]} comes after {WEEKDAYS_EN[i]}."

    def _g_name_letters(self, rng, lang, split):
        if lang == "zh":
            n = self.random_name(rng, "zh")
            return rng.choice([f"“{n}”这个名字有几个字？", f"{n}这个名字一共几个字？"]), f"“{n}”有{len(n)}个字。"
        n = rng.choice(self.first_en)
        return rng.choice([f"How many letters are in the name {n}?", f"How many letters does the name {n} have?"]), \
            f"The name {n} has {len(n)} letters."

    def _g_greet(self, rng, lang, split):
        n = self.random_name(rng, lang)
        if lang == "zh":
            return rng.choice([f"替我向{n}问好。", f"跟{n}打个招呼吧。"]), f"{n}，你好！很高兴认识你。"
        return rng.choice([f"Please say hello to {n}.", f"Greet {n} for me."]), f"Hello, {n}! Nice to meet you."

    def _g_chat(self, rng, lang, split):
        return rng.choice(self.chat[lang][split])

    def _g_compare(self, rng, lang, split):
        a, b = rng.sample(range(1, 1000), 2)
        big = max(a, b)
        if lang == "zh":
            return f"{a}和{b}哪个大？", f"{big}更大。"
        return f"Which is bigger, {a} or {b}?", f"{big} is bigger."

    def _g_date_weekday(self, rng, lang, split):
        d = self.random_date(rng, "train")
        w = d.weekday()
        if lang == "zh":
            return f"{fmt_date(d, 'zh')}是星期几？", f"{fmt_date(d, 'zh')}是{WEEKDAYS_ZH[w]}。"
        return f"What day of the week was {fmt_date(d, 'en')}?", f"{fmt_date(d, 'en')} was a {WEEKDAYS_EN[w]}."

    def _g_spell_back(self, rng, lang, split):
        if lang == "zh":
            w = rng.choice(self.values["food"]["zh"]["train"])
            return f"把“{w}”倒过来写。", f"倒过来是“{w[::-1]}”。"
        w = rng.choice(self.first_en)
        return f"Spell {w} backwards.", f"{w} backwards is {w[::-1]}."

    def _g_uppercase(self, rng, lang, split):
        n = self.random_name(rng, "en")
        if lang == "zh":
            return f"把{n}写成大写字母。", f"{n.upper()}"
        return f"Write {n} in capital letters.", f"{n.upper()}"

    def _g_month_days(self, rng, lang, split):
        m = rng.randint(1, 12)
        y = rng.randint(1990, 2030)
        n = calendar.monthrange(y, m)[1]
        if lang == "zh":
            return f"{y}年{m}月有多少天？", f"{y}年{m}月有{n}天。"
        return f"How many days are in {MONTHS[m - 1]} {y}?", f"{MONTHS[m - 1]} {y} has {n} days."

    def _g_count(self, rng, lang, split):
        a = rng.randint(1, 90)
        seq = list(range(a, a + 5))
        if lang == "zh":
            return f"从{a}数到{a + 4}。", "、".join(map(str, seq)) + "。"
        return f"Count from {a} to {a + 4}.", ", ".join(map(str, seq)) + "."

    def _g_birthday_wish(self, rng, lang, split):
        n = self.random_name(rng, lang)
        if lang == "zh":
            return rng.choice([f"帮我写一句给{n}的生日祝福。", f"祝{n}生日快乐吧。", f"给{n}写张生日贺卡。"]), \
                f"祝{n}生日快乐，天天开心！"
        return rng.choice([f"Write a birthday message for {n}.", f"Say happy birthday to {n}.",
                           f"Write a birthday card for {n}."]), f"Happy birthday, {n}! Have a wonderful day."

    def _g_surname(self, rng, lang, split):
        n = self.random_name(rng, lang)
        if lang == "zh":
            return rng.choice([f"{n}姓什么？", f"“{n}”的姓是哪个字？"]), f"{n}姓{n[0]}。"
        first, last = n.split(" ", 1)
        if rng.random() < 0.5:
            return rng.choice([f"What is the last name in {n}?", f"What is the surname of {n}?"]), \
                f"The last name in {n} is {last}."
        return rng.choice([f"What is the first name in {n}?", f"What is the given name of {n}?"]), \
            f"The first name in {n} is {first}."

    def _g_weather(self, rng, lang, split):
        c = rng.choice(self.values["city"][lang]["train"])
        if lang == "zh":
            return rng.choice([f"{c}今天天气怎么样？", f"{c}现在下雨吗？"]), f"我没法查看{c}现在的天气。"
        return rng.choice([f"What is the weather like in {c}?", f"Is it raining in {c} now?"]), \
            f"I can't check the weather in {c} right now."

    def _g_recommend(self, rng, lang, split):
        kind = rng.choice(["city", "food", "pet"])
        v = rng.choice(self.values[kind][lang]["train"])
        if lang == "zh":
            q = {"city": ["推荐一个值得去的城市。", "去哪个城市旅游好？"], "food": ["推荐一道菜。", "今天吃什么好？"],
                 "pet": ["给我的小狗起个名字吧。", "给猫取个什么名字好？"]}[kind]
            a = {"city": f"可以去{v}看看。", "food": f"可以试试{v}。", "pet": f"叫“{v}”怎么样？"}[kind]
            return rng.choice(q), a
        q = {"city": ["Recommend a city to visit.", "Which city should I travel to?"],
             "food": ["Recommend a dish.", "What should I eat today?"],
             "pet": ["Suggest a name for my dog.", "What is a good name for a cat?"]}[kind]
        a = {"city": f"You could visit {v}.", "food": f"You could try {v}.", "pet": f"How about {v}?"}[kind]
        return rng.choice(q), a

    def _g_thanks(self, rng, lang, split):
        n = self.random_name(rng, lang)
        if lang == "zh":
            return rng.choice([f"替我谢谢{n}。", f"帮我向{n}道个歉。"]), f"好的，我会转告{n}。"
        return rng.choice([f"Tell {n} thank you for me.", f"Please apologise to {n} for me."]), \
            f"Sure, I will pass that on to {n}."

    def _g_name_facts(self, rng, lang, split):
        n = self.random_name(rng, lang)
        if lang == "zh":
            k = rng.randrange(4)
            if k == 0:
                return rng.choice([f"{n}的第一个字是什么？", f"{n}这个名字的第一个字是哪个？"]), f"{n}的第一个字是“{n[0]}”。"
            if k == 1:
                return rng.choice([f"{n}的最后一个字是什么？", f"{n}名字的最后一个字是啥？"]), f"{n}的最后一个字是“{n[-1]}”。"
            if k == 2:
                return rng.choice([f"“{n}”倒过来怎么写？", f"把{n}的名字倒过来写。"]), f"倒过来是“{n[::-1]}”。"
            return rng.choice([f"{n}的名字有几个字？", f"{n}的姓名一共几个字？"]), f"{n}的名字有{len(n)}个字。"
        first, last = n.split(" ", 1)
        k = rng.randrange(4)
        if k == 0:
            return rng.choice([f"What is the first letter of {n}?", f"What is {first}'s first letter?"]), \
                f"The first letter of {n} is {n[0]}."
        if k == 1:
            return rng.choice([f"What is the last letter of {last}?", f"What is the final letter of {n}'s surname?"]), \
                f"The last letter of {last} is {last[-1]}."
        if k == 2:
            return rng.choice([f"Write {n} in lowercase.", f"What is {n}'s name in small letters?"]), n.lower()
        if rng.random() < 0.5:
            return f"How many words are in the name {n}?", f"The name {n} has 2 words."
        return f"How long is {n}'s first name?", f"{first} has {len(first)} letters."

    def _g_month_before(self, rng, lang, split):
        m = rng.randrange(12)
        if lang == "zh":
            return rng.choice([f"{m + 1}月的前一个月是几月？", f"{m + 1}月之前是几月？"]), f"{m + 1}月的前一个月是{(m - 1) % 12 + 1}月。"
        return rng.choice([f"Which month comes before {MONTHS[m]}?", f"What month is before {MONTHS[m]}?"]), \
            f"{MONTHS[(m - 1) % 12]} comes before {MONTHS[m]}."

    def _g_number_facts(self, rng, lang, split):
        a = rng.randint(2, 500)
        k = rng.randrange(3)
        if lang == "zh":
            if k == 0:
                return f"{a}的下一个数是几？", f"{a}的下一个数是{a + 1}。"
            if k == 1:
                return f"{a}是奇数还是偶数？", f"{a}是{'偶数' if a % 2 == 0 else '奇数'}。"
            return f"{2 * a}的一半是多少？", f"{2 * a}的一半是{a}。"
        if k == 0:
            return f"What number comes after {a}?", f"{a + 1} comes after {a}."
        if k == 1:
            return f"Is {a} even or odd?", f"{a} is {'even' if a % 2 == 0 else 'odd'}."
        return f"What is half of {2 * a}?", f"Half of {2 * a} is {a}."

    OPPOSITES = [("cold", "hot", "冷", "热"), ("small", "big", "小", "大"), ("down", "up", "下", "上"),
                 ("slow", "fast", "慢", "快"), ("short", "long", "短", "长"), ("old", "new", "旧", "新"),
                 ("dark", "light", "暗", "亮"), ("weak", "strong", "弱", "强"), ("empty", "full", "空", "满"),
                 ("low", "high", "低", "高"), ("wet", "dry", "湿", "干"), ("early", "late", "早", "晚"),
                 ("few", "many", "少", "多"), ("thin", "thick", "薄", "厚"), ("inside", "outside", "里", "外"),
                 ("sad", "happy", "难过", "开心"), ("winter", "summer", "冬天", "夏天"), ("north", "south", "北", "南"),
                 ("left", "right", "左", "右"), ("buy", "sell", "买", "卖")]

    def _g_opposite(self, rng, lang, split):
        a_en, b_en, a_zh, b_zh = rng.choice(self.OPPOSITES)
        if rng.random() < 0.5:
            a_en, b_en, a_zh, b_zh = b_en, a_en, b_zh, a_zh
        if lang == "zh":
            return rng.choice([f"{a_zh}的反义词是什么？", f"“{a_zh}”的反义词是啥？"]), f"{a_zh}的反义词是{b_zh}。"
        return rng.choice([f"What is the opposite of {a_en}?", f"What's the opposite of {a_en}?"]), \
            f"The opposite of {a_en} is {b_en}."

    LEGS = [("cat", "猫", 4), ("bird", "鸟", 2), ("horse", "马", 4), ("ant", "蚂蚁", 6), ("chicken", "鸡", 2),
            ("cow", "牛", 4), ("duck", "鸭子", 2), ("bee", "蜜蜂", 6), ("sheep", "羊", 4), ("crab", "螃蟹", 10),
            ("frog", "青蛙", 4), ("beetle", "甲虫", 6), ("goose", "鹅", 2), ("lobster", "龙虾", 10)]

    def _g_legs(self, rng, lang, split):
        en, zh, n = rng.choice(self.LEGS)
        if lang == "zh":
            return rng.choice([f"{zh}有几条腿？", f"一只{zh}有多少条腿？"]), f"{zh}有{n}条腿。"
        return rng.choice([f"How many legs does a {en} have?", f"How many legs has a {en} got?"]), \
            f"A {en} has {n} legs."

    # stage 4 families (data_version 2)
    VOWELS = set("aeiouAEIOU")

    def _g_name_string(self, rng, lang, split):
        """Tasks on a name as a string, in shapes other than the memory frames."""
        n, m = self.random_name(rng, lang), self.random_name(rng, lang)
        if lang == "zh":
            k = rng.randrange(7)
            if k == 0:
                c = rng.choice(n + rng.choice(self.given_zh))
                has = "有" if c in n else "没有"
                return rng.choice([f"{n}的名字里有“{c}”字吗？", f"“{n}”这个名字包含“{c}”吗？"]), f"{n}的名字里{has}“{c}”字。"
            if k == 1:
                return rng.choice([f"用{n}的名字写一句欢迎词。", f"写一句欢迎{n}的话。"]), f"欢迎{n}加入我们！"
            if k == 2:
                return rng.choice([f"给{n}写个信的开头。", f"给{n}写封信，开头怎么写？"]), f"亲爱的{n}：你好！"
            if k == 3:
                return rng.choice([f"给{n}起个小名。", f"{n}可以叫什么昵称？"]), f"叫“小{n[-1]}”怎么样？"
            if k == 4:
                return rng.choice([f"把{n}重复两遍。", f"把“{n}”写两遍。"]), f"{n}{n}"
            if k == 5:
                longer = n if len(n) > len(m) else m if len(m) > len(n) else ""
                a = f"{longer}的名字字数更多。" if longer else "两个名字字数一样多。"
                return f"{n}和{m}谁的名字字数多？", a
            return rng.choice([f"{n}的名字第二个字是什么？", f"“{n}”的第二个字是哪个？"]), f"第二个字是“{n[1]}”。"
        first, last = n.split(" ", 1)
        k = rng.randrange(9)
        if k == 0:
            v = sum(ch in self.VOWELS for ch in n)
            return rng.choice([f"How many vowels are in {n}?", f"Count the vowels in {n}."]), f"{n} has {v} vowels."
        if k == 1:
            c = rng.choice(LETTERS)
            has = "contains" if c in n.lower() else "does not contain"
            return f"Does {n} contain the letter {c}?", f"{n} {has} the letter {c}."
        if k == 2:
            a, b = sorted([first, m.split(" ", 1)[0]])
            return f"Which comes first alphabetically, {first} or {m.split(' ', 1)[0]}?", f"{a} comes first."
        if k == 3:
            return rng.choice([f"Spell {first} with dashes.", f"Spell out {first} letter by letter."]), "-".join(first)
        if k == 4:
            return rng.choice([f"Write {n} with the surname first.", f"Put {n}'s last name first."]), f"{last}, {first}"
        if k == 5:
            return rng.choice([f"Write an email greeting for {n}.", f"How do I start a letter to {n}?"]), f"Dear {n},"
        if k == 6:
            return rng.choice([f"Introduce {n} to the class.", f"Welcome {n} to the team."]), f"Everyone, please welcome {n}!"
        if k == 7:
            return rng.choice([f"Make a nickname from {n}.", f"Suggest a short nickname for {n}."]), \
                f"How about {first[:3]}?"
        return rng.choice([f"How many letters are in {last}?", f"How long is the surname {last}?"]), \
            f"{last} has {len(last)} letters."

    # (attribute of the name, answer) for the memory frames below; answers computed from the name
    def _name_attrs_en(self, n: str) -> list[tuple[str, str]]:
        first, last = n.split(" ", 1)
        return [
            ("name's first letter", f"{n}'s name starts with {n[0]}."),
            ("surname's first letter", f"{last} starts with {last[0]}."),
            ("first name's last letter", f"{first} ends with {first[-1]}."),
            ("name length", f"{n} has {len(first) + len(last)} letters."),
            ("name in capitals", n.upper()), ("name in lowercase", n.lower()),
            ("name spelled backwards", n[::-1]), ("first name backwards", first[::-1]),
            ("surname in capitals", last.upper()), ("name with the surname first", f"{last}, {first}"),
            ("first name's length", f"{first} has {len(first)} letters."),
            ("surname's length", f"{last} has {len(last)} letters."),
            ("vowel count", f"{n} has {sum(ch in self.VOWELS for ch in n)} vowels."),
            ("name's second letter", f"The second letter of {n} is {n[1]}."),
            ("surname's last letter", f"{last} ends with {last[-1]}."),
            ("first name's first two letters", f"{first} starts with {first[:2]}."),
            ("number of words in the name", f"The name {n} has 2 words."),
            ("first name", f"The first name in {n} is {first}."), ("surname", f"The surname in {n} is {last}."),
        ]

    def _name_attrs_zh(self, n: str) -> list[tuple[str, str]]:
        sur = next((s for s in sorted(self.sur_zh, key=len, reverse=True) if n.startswith(s)), n[0])
        given = n[len(sur):]
        return [
            ("名字的第一个字", f"{n}的第一个字是“{n[0]}”。"), ("名字的最后一个字", f"{n}的最后一个字是“{n[-1]}”。"),
            ("姓", f"{n}姓{sur}。"), ("名", f"{n}的名是“{given}”。"), ("名字的字数", f"{n}的名字有{len(n)}个字。"),
            ("名字倒过来", f"倒过来是“{n[::-1]}”。"), ("名字的第二个字", f"{n}的第二个字是“{n[1]}”。"),
            ("名字重复两遍", f"{n}{n}"), ("姓的字数", f"{n}的姓有{len(sur)}个字。"),
            ("名的字数", f"{n}的名有{len(given)}个字。"), ("姓名", f"{n}的姓名就是“{n}”。"),
        ]

    EN_NAME_FRAMES = ["What is {P} {X}?", "What's {P} {X}?", "Tell me {P} {X}.", "{P} {X}?", "Do you know {P} {X}?",
                      "Can you tell me {P} {X}?", "Give me {P} {X}.", "Please tell me {P} {X}.", "And {P} {X}?",
                      "Would you tell me {P} {X}?", "So what is {P} {X}?", "Quick one: {P} {X}?"]
    ZH_NAME_FRAMES = ["{N}的{X}是什么？", "{N}的{X}是啥？", "告诉我{N}的{X}。", "你知道{N}的{X}吗？", "{N}的{X}呢？",
                      "{N}的{X}是？", "说说{N}的{X}吧。", "请问{N}的{X}？", "能告诉我{N}的{X}吗？", "{N}的{X}是哪个？"]

    def _g_name_frames(self, rng, lang, split):
        """The memory questions' frames asking about the name itself: answered from the question."""
        n = self.random_name(rng, lang)
        if lang == "zh":
            x, a = rng.choice(self._name_attrs_zh(n))
            return rng.choice(self.ZH_NAME_FRAMES).replace("{N}", n).replace("{X}", x), a
        x, a = rng.choice(self._name_attrs_en(n))
        q = rng.choice(self.EN_NAME_FRAMES).replace("{P}", f"{n}'s").replace("{X}", x)
        return q, a

    # stage 5 families (data_version 3)
    GENERAL_FAMILIES_V3 = ["name_of", "name_of", "name_of", "name_zh_en", "name_zh_en", "chat", "chat"]
    # data_version 9: the written messages' share of training general questions from 7 in 40 (17.5%)
    # to 12 in 45 (27%): blind-written general questions are the false triggers left, and the bank is the
    # corpus's only source of their kind
    GENERAL_FAMILIES_V9 = ["chat"] * 5
    EN_OF_FRAMES = ["What are the {X} of {N}?", "What is the {X} of {N}?", "Tell me the {X} of {N}.",
                    "Give me the {X} of {N}.", "The {X} of {N}?", "List the {X} of {N}.", "Do you know the {X} of {N}?",
                    "What are the {X} in {N}?", "Can you tell me the {X} of {N}?", "{X} of {N}?"]

    def _g_name_of(self, rng, lang, split):
        """"What are the X of {N}?": the plural / "of" shape of memory questions, about the name."""
        if lang == "zh":
            return self._g_name_zh_en(rng, lang, split)
        n = self.random_name(rng, "en")
        first, last = n.split(" ", 1)
        vowels = [ch for ch in n if ch in self.VOWELS]
        x, a = rng.choice([
            ("letters", " ".join(ch for ch in n if ch != " ")), ("vowels", ", ".join(vowels) or "none"),
            ("first two letters", n[:2]), ("last two letters", n[-2:]), ("last three letters", n[-3:]),
            ("letters in reverse order", n[::-1]), ("words", f"{first} and {last}"),
            ("first and last letters", f"{n[0]} and {n[-1]}"), ("length", f"{len(n) - 1} letters"),
            ("letter count", f"{len(n) - 1} letters"), ("number of vowels", str(len(vowels))),
            ("second and third letters", n[1:3]), ("lowercase form", n.lower()), ("uppercase form", n.upper()),
            ("surname", last), ("first name", first), ("spelling", "-".join(n.replace(" ", ""))),
        ])
        q = rng.choice(self.EN_OF_FRAMES).replace("{X}", x).replace("{N}", n)
        return q[0].upper() + q[1:], f"The {x} of {n}: {a}."

    def _g_name_zh_en(self, rng, lang, split):
        """Chinese questions about an English name (memory questions never mix the two)."""
        n = self.random_name(rng, "en")
        first, last = n.split(" ", 1)
        if lang == "en":
            return self._g_name_of(rng, lang, split)
        q, a = rng.choice([
            (f"{n}的第一个字母是什么？", f"{n}的第一个字母是{n[0]}。"),
            (f"{n}一共有几个字母？", f"{n}一共有{len(n) - 1}个字母。"),
            (f"{n}倒过来怎么写？", f"倒过来是{n[::-1]}。"),
            (f"{n}的姓是什么？", f"{n}的姓是{last}。"), (f"{n}的名是什么？", f"{n}的名是{first}。"),
            (f"{n}的小写是什么？", n.lower()), (f"{n}的大写是什么？", n.upper()),
            (f"{n}里有几个元音字母？", f"{n}里有{sum(ch in self.VOWELS for ch in n)}个元音字母。"),
            (f"{n}的最后一个字母是什么？", f"{n}的最后一个字母是{n[-1]}。"),
            (f"{n}这个名字有几个单词？", f"{n}有两个单词。"), (f"{n}的姓有几个字母？", f"{last}有{len(last)}个字母。"),
            (f"{n}的第二个字母是什么？", f"{n}的第二个字母是{n[1]}。"),
        ])
        return q, a

    # held-out families
    def _g_leap_year(self, rng, lang, split):
        y = rng.randint(1900, 2100)
        leap = calendar.isleap(y)
        if lang == "zh":
            return f"{y}年是闰年吗？", f"{y}年{'是' if leap else '不是'}闰年。"
        return f"Is {y} a leap year?", f"{'Yes' if leap else 'No'}, {y} is {'' if leap else 'not '}a leap year."

    def _g_minutes(self, rng, lang, split):
        h = rng.randint(2, 12)
        if lang == "zh":
            return f"{h}个小时是多少分钟？", f"{h}个小时是{h * 60}分钟。"
        return f"How many minutes are in {h} hours?", f"There are {h * 60} minutes in {h} hours."

    def _g_name_initials(self, rng, lang, split):
        n = self.random_name(rng, "en")
        ini = "".join(w[0] for w in n.split())
        if lang == "zh":
            return f"{n}的首字母缩写是什么？", f"{n}的首字母缩写是{ini}。"
        return f"What are the initials of {n}?", f"The initials of {n} are {ini}."

    def _g_month_after(self, rng, lang, split):
        m = rng.randrange(12)
        if lang == "zh":
            return f"{m + 1}月的下一个月是几月？", f"{m + 1}月的下一个月是{(m + 1) % 12 + 1}月。"
        return f"Which month comes after {MONTHS[m]}?", f"{MONTHS[(m + 1) % 12]} comes after {MONTHS[m]}."


# ---- dialogue construction -------------------------------------------------------------

@dataclass
class Dialogue:
    kind: str  # "memory" | "general" | "rag"
    prompt: str  # everything before the assistant's reply
    reply_before: str  # assistant text before <recall> (memory) or the whole reply (general, rag)
    memory: str = ""  # memory text (memory, rag)
    lang: str = "en"
    ftype: str = ""
    n_vectors: int = 1  # memory vectors injected after <recall> (memory dialogues)


def memory_dialogue(world: World, rng: random.Random, p: Person, ftype: str, split: str = "train",
                    n_vectors: int = 1) -> Dialogue:
    q = world.question(rng, p, ftype, split)
    return Dialogue("memory", PROMPT.format(q=q), world.recall_prefix(rng, p.lang), p.memory(ftype), p.lang, ftype,
                    n_vectors)


def general_dialogue(world: World, rng: random.Random, lang: str, split: str = "train") -> Dialogue:
    q, a = world.general(rng, lang, split)
    return Dialogue("general", PROMPT.format(q=q), a, "", lang)


def rag_dialogue(world: World, rng: random.Random, p: Person, ftype: str, split: str = "train") -> Dialogue:
    q = world.question(rng, p, ftype, split)
    m = p.memory(ftype)
    return Dialogue("rag", RAG_PROMPT.format(m=m, q=q), m, m, p.lang, ftype)


def dialogue_text(d: Dialogue) -> str:
    """The dialogue as text (the memory position shown as nothing)."""
    if d.kind == "memory":
        return f"{d.prompt}{d.reply_before}{RECALL}{d.memory}"
    return d.prompt + d.reply_before


# ---- evaluation fixture (no torch: used by eval/loop-eval.mjs and test/loop.test.ts) ------

def make_people(world: World, rng: random.Random, n: int, split: str) -> list[Person]:
    """n people with unique names, alternating zh / en (as evaluate.py makes its test people)."""
    people, names = [], set()
    while len(people) < n:
        p = world.person(rng, LANGS[len(people) % 2], split=split)
        if p.name in names:
            continue
        names.add(p.name)
        people.append(p)
    return people


def open_value_items(world: World, seed: int, n: int) -> tuple[list[Person], list[tuple[int, str]], list[str]]:
    """The n-vector test (evaluate.py and the fixture alike): n people, alternating zh / en, whose
    values are random strings of 1..24 bytes (birthdays: any year), two questions each about
    non-birthday facts in seen phrasing. Returns (people, (person index, fact type) items,
    questions); its own generator, so the other test items do not depend on n."""
    rng = random.Random(f"eval-open:{seed}")
    people = [world.person(rng, LANGS[i % 2], open_values=True, open_max_bytes=24) for i in range(n)]
    items = [(pi, ft) for pi in range(n) for ft in rng.sample(FACT_TYPES[1:], 2)]
    return people, items, [world.question(rng, people[pi], ft, "train") for pi, ft in items]


def eval_fixture(seed: int, people: int, questions_per_person: int, heldout_people: int,
                 general: int, open_people: int = 0) -> dict:
    """Test people (new combinations of training-list values, and people with held-out values only),
    their six memory texts, questions in seen and held-out phrasings, and general questions
    (training families and held-out families/items). Deterministic in `seed`; draws in the same
    order as evaluate.py: with evaluate.py's defaults (seed 20261129, 1000 people, 2 questions each,
    300 held-out-value people, 1000 general questions) these are exactly its test items."""
    world = World()
    rng = random.Random(f"eval:{seed}")

    def person_rows(ps: list[Person]) -> list[dict]:
        return [{"lang": p.lang, "name": p.name, "facts": dict(p.facts),
                 "memories": {ft: p.memory(ft) for ft in FACT_TYPES}} for p in ps]

    def questions(ps: list[Person], items: list[tuple[int, str]], split: str) -> list[dict]:
        return [{"person": pi, "ftype": ft, "question": world.question(rng, ps[pi], ft, split)}
                for pi, ft in items]

    ps = make_people(world, rng, people, "train")
    items = [(pi, ft) for pi in range(len(ps)) for ft in rng.sample(FACT_TYPES, questions_per_person)]
    seen = questions(ps, items, "train")
    held = questions(ps, items, "heldout")
    hps = make_people(world, rng, heldout_people, "heldout")
    hitems = [(pi, ft) for pi in range(len(hps)) for ft in FACT_TYPES]
    hval = questions(hps, hitems, "train")
    gen = {}
    for split in ["train", "heldout"]:
        gen[split] = [{"question": q, "answer": a} for q, a in
                      (world.general(rng, LANGS[i % 2], split) for i in range(general))]
    ops, oitems, oqs = open_value_items(world, seed, open_people)
    oq = [{"person": pi, "ftype": ft, "question": q} for (pi, ft), q in zip(oitems, oqs)]
    return {
        "seed": seed, "prompt_template": PROMPT.replace("{q}", "{question}"), "fact_types": FACT_TYPES,
        "people": person_rows(ps), "heldout_value_people": person_rows(hps), "open_value_people": person_rows(ops),
        "questions": {"train_values_seen_phrasing": seen, "train_values_heldout_phrasing": held,
                      "heldout_values_seen_phrasing": hval, "open_values_seen_phrasing": oq},
        "general": gen,
        # evaluate.py's "general_blind" set (240 questions written blind to this corpus), for the loop
        "general_blind": json.loads((LISTS / "general_blind.json").read_text(encoding="utf-8")),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--split", default="train")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--data-version", type=int, default=1, help="World corpus version (a stage config's data_version)")
    ap.add_argument("--noise-prob", type=float, default=NOISE_PROB, help="word-noise share (data_version 5+)")
    ap.add_argument("--export-eval", metavar="PATH",
                    help="write an evaluation fixture (JSON; '-' = stdout) instead of samples; uses "
                         "--seed, --people, --questions-per-person, --heldout-people, --general")
    ap.add_argument("--people", type=int, default=100)
    ap.add_argument("--questions-per-person", type=int, default=2)
    ap.add_argument("--heldout-people", type=int, default=0)
    ap.add_argument("--general", type=int, default=0)
    ap.add_argument("--open-people", type=int, default=0)
    args = ap.parse_args()
    if args.export_eval:
        fx = eval_fixture(args.seed, args.people, args.questions_per_person, args.heldout_people, args.general,
                          args.open_people)
        text = json.dumps(fx, ensure_ascii=False, indent=1)
        if args.export_eval == "-":
            print(text)
        else:
            Path(args.export_eval).write_text(text + "\n", encoding="utf-8")
        return
    w = World(args.data_version, args.noise_prob)
    rng = random.Random(args.seed)
    if args.stats:
        for ft, d in w.values.items():
            print(ft, {lang: {s: len(v) for s, v in x.items()} for lang, x in d.items()})
        return
    for i in range(args.n):
        lang = rng.choice(LANGS)
        r = rng.random()
        if r < 0.6:
            p = w.person(rng, lang, user=rng.random() < 0.15, split=args.split)
            d = memory_dialogue(w, rng, p, rng.choice(FACT_TYPES), args.split)
        elif r < 0.7:
            p = w.person(rng, lang, split=args.split)
            d = rag_dialogue(w, rng, p, rng.choice(FACT_TYPES), args.split)
        else:
            d = general_dialogue(w, rng, lang, args.split)
        print(json.dumps(dialogue_text(d), ensure_ascii=False))


if __name__ == "__main__":
    main()
