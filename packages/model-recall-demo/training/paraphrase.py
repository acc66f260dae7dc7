"""Training-only question paraphrases: sentence frames × words for each fact type and language.

The hand-written phrasings in lists/questions.json stay the evaluation's reference: every 5th one
per fact type and language is held out, and no paraphrase generated here may equal a held-out
phrasing (compared case- and punctuation-insensitively; `paraphrases()` drops such collisions).
What the model gains here is vocabulary and sentence shapes: the held-out sentences are new as
sentences, but their words (e.g. "DOB", "毛孩子") occur in other training sentences, as they would
in any pretrained model's data.

Placeholders as in questions.json: {N} the person's name (or "I" / "我" for the user), {P} the
possessive ("Alice Smith's" / "my").
"""

from __future__ import annotations

import re

# ---- English ---------------------------------------------------------------------------------

EN_POSSESSIVE_FRAMES = [
    "What is {P} {X}?", "What's {P} {X}?", "Tell me {P} {X}.", "Do you know {P} {X}?",
    "Remind me of {P} {X}.", "Can you tell me {P} {X}?", "Could you remind me of {P} {X}?",
    "Look up {P} {X}.", "I forgot {P} {X}.", "I need {P} {X}.", "Do you remember {P} {X}?",
    "What was {P} {X} again?", "Any idea what {P} {X} is?", "Please check {P} {X}.",
    "Do you recall {P} {X}?", "I'd like to know {P} {X}.", "Can you look up {P} {X}?",
    "Remind me: {P} {X}?", "{P} {X}?", "What do you have as {P} {X}?", "Check {P} {X} for me.",
    "Can you find {P} {X}?", "Would you tell me {P} {X}?", "Please tell me {P} {X}.",
    "What did you store as {P} {X}?", "I can't remember {P} {X}.", "Help me recall {P} {X}.",
    "Give me {P} {X}.", "What's on file as {P} {X}?", "Could you look up {P} {X}?",
    "Need {P} {X}.", "So what is {P} {X}?", "Quick one: {P} {X}?", "And {P} {X}?",
    "What {X} does {N} have?", "What is the {X} of {N}?", "The {X} of {N}?",
]
EN_NOUNS = {
    "birthday": ["birthday", "date of birth", "DOB", "birth date", "birthdate", "day of birth",
                 "birthday date", "exact birthday", "full birth date"],
    "city": ["home city", "hometown", "city", "town", "city of residence", "place of residence",
             "current city", "home town", "residence", "home base", "location", "city of living"],
    "job": ["job", "occupation", "profession", "career", "line of work", "trade", "role at work",
            "position", "work", "employment", "day job", "vocation", "job title", "current role"],
    "pet": ["pet's name", "pet", "dog's name", "cat's name", "puppy's name", "kitten's name",
            "furry friend's name", "companion animal's name", "animal's name", "pet name"],
    "allergy": ["allergy", "allergies", "allergen", "allergy trigger", "known allergy",
                "food allergy", "allergic reaction trigger", "sensitivity", "intolerance"],
    "food": ["favourite food", "favorite food", "favourite dish", "favorite meal", "go-to meal",
             "comfort food", "top food", "preferred food", "favourite meal", "favorite dish",
             "best-loved food", "favourite thing to eat", "favorite thing to eat"],
}
EN_VERB_FRAMES = {
    "birthday": [
        "When was {N} born?", "What day was {N} born?", "In which year was {N} born?",
        "On which day was {N} born?", "When does {N} celebrate a birthday?",
        "When should I send {N} a birthday card?", "When do we celebrate {N}'s birthday?",
        "In what year was {N} born?", "Which date was {N} born on?", "When was {N} born, exactly?",
        "When does {N} turn a year older?", "When is {N}'s big day?", "What is {N}'s birthday again?",
        "When did {N} arrive in the world?", "Do you know when {N} was born?",
        "Remind me when {N} was born.", "When do I wish {N} a happy birthday?",
        "When is the party for {N}'s birthday?", "When will {N} have a birthday?",
    ],
    "city": [
        "Where does {N} live?", "Where does {N} reside?", "Where is {N} living now?",
        "Which city is {N} in?", "Where's {N} based?", "What city does {N} call home?",
        "Where did {N} move to?", "Where can I visit {N}?", "In what city does {N} reside?",
        "Where does {N} live these days?", "Which city does {N} live in now?",
        "Where is {N}'s home?", "Where does {N} have a home?", "What city is {N} living in?",
        "Where is {N} located?", "Which town is {N} living in?", "Where do I find {N}'s home?",
        "In which town does {N} live?", "Where has {N} settled?", "Where does {N} reside now?",
    ],
    "job": [
        "What does {N} do?", "What does {N} do for work?", "How does {N} make money?",
        "What kind of job does {N} have?", "What line of work is {N} in?", "What field is {N} in?",
        "What industry does {N} work in?", "What does {N} do all day at work?",
        "What is {N}'s job title?", "What does {N} do for a job?", "How does {N} earn money?",
        "What work is {N} doing?", "What is {N} doing for a living?", "What profession is {N} in?",
        "What role does {N} have at work?", "What kind of work is {N} in?",
        "What is {N}'s occupation?", "What trade is {N} in?", "Where does {N} work as what?",
        "What does {N} do professionally these days?",
    ],
    "pet": [
        "What did {N} name the dog?", "What did {N} name the cat?", "What does {N} call the cat?",
        "What does {N} call the dog?", "Does {N} have a pet? What's its name?",
        "What's the name of {N}'s pet?", "What is the pet of {N} named?", "How is {N}'s pet called?",
        "What name did {N} give the puppy?", "What's {N}'s little animal called?",
        "What is {N}'s animal named?", "What do people call {N}'s pet?",
        "Which name does {N}'s pet answer to?", "What is the name of {N}'s animal?",
        "What did {N} call the kitten?", "What's the pet at {N}'s home called?",
    ],
    "allergy": [
        "What is {N} allergic to?", "What can't {N} eat?", "What should {N} avoid?",
        "What makes {N} sneeze?", "What does {N} react to?", "What gives {N} a rash?",
        "Is {N} allergic to something?", "What must {N} stay away from?",
        "What shouldn't I serve {N}?", "What is {N} intolerant to?", "What can {N} not have?",
        "What makes {N} sick?", "What should I keep away from {N}?", "Which thing is {N} allergic to?",
        "What does {N} have an allergy to?", "What can't {N} be around?",
        "What should I never give {N}?", "What is {N} sensitive to these days?",
    ],
    "food": [
        "What does {N} like to eat?", "What does {N} love eating?", "What should I cook for {N}?",
        "What would {N} order?", "What does {N} crave?", "What food does {N} enjoy most?",
        "What should I make for {N}'s dinner?", "What dish does {N} like best?",
        "What does {N} eat when happy?", "What does {N} always order?", "What meal does {N} love?",
        "What food would make {N} happy?", "What is {N}'s favourite thing to eat?",
        "What should I bring {N} to eat?", "What does {N} enjoy eating?", "What dish would {N} pick?",
        "Which food does {N} love the most?", "What is the food {N} likes best?",
    ],
}

# ---- Chinese ---------------------------------------------------------------------------------

ZH_POSSESSIVE_FRAMES = [
    "{N}的{X}是什么？", "{N}的{X}是啥？", "告诉我{N}的{X}。", "你知道{N}的{X}吗？", "提醒我{N}的{X}。",
    "查查{N}的{X}。", "我想知道{N}的{X}。", "{N}的{X}你还记得吗？", "说说{N}的{X}吧。", "{N}的{X}呢？",
    "帮我查一下{N}的{X}。", "我忘了{N}的{X}。", "请问{N}的{X}？", "{N}的{X}是哪个？", "{N}的{X}来着？",
    "能告诉我{N}的{X}吗？", "你记得{N}的{X}吗？", "帮我想想{N}的{X}。", "{N}的{X}，你知道吗？",
    "我记不清{N}的{X}了。", "给我说下{N}的{X}。", "{N}的{X}是？", "记录里{N}的{X}是什么？",
    "回忆一下{N}的{X}。", "麻烦查下{N}的{X}。", "你存的{N}的{X}是什么？", "{N}的{X}到底是什么？",
    "想确认一下{N}的{X}。", "我需要{N}的{X}。", "能查到{N}的{X}吗？",
]
ZH_NOUNS = {
    "birthday": ["生日", "出生日期", "生辰", "出生年月日", "生日日期", "出生的日子", "诞辰"],
    "city": ["居住城市", "住址", "家", "居住地", "所在城市", "常住城市", "住处", "住的地方", "家乡", "城市"],
    "job": ["职业", "工作", "行当", "饭碗", "岗位", "职位", "差事", "营生", "本行", "工种", "职务"],
    "pet": ["宠物", "宠物名字", "狗的名字", "猫的名字", "毛孩子", "小动物", "宠物的名字", "爱宠"],
    "allergy": ["过敏原", "过敏", "过敏的东西", "过敏物", "过敏源", "过敏史", "忌讳的过敏物"],
    "food": ["最爱的食物", "最喜欢的食物", "最爱的菜", "心头好", "最爱吃的", "最喜欢的菜", "最爱的美食",
             "最常吃的菜", "最爱的一道菜"],
}
ZH_VERB_FRAMES = {
    "birthday": [
        "{N}是哪天生的？", "{N}哪年出生的？", "{N}几号过生日？", "{N}什么时候出生？", "{N}的生日在几月？",
        "{N}哪天过生日？", "{N}出生于哪天？", "我该什么时候给{N}过生日？", "{N}哪一年哪一天出生的？",
        "{N}的生日是几月几日？", "{N}生日是哪一天？", "给{N}寄生日卡该选哪天？", "{N}什么时候满岁？",
        "{N}是几几年出生的？", "{N}出生那天是哪天？", "{N}的生日到底是哪天？",
    ],
    "city": [
        "{N}住哪儿？", "{N}在哪个城市住？", "{N}现在住在哪？", "{N}家住在哪个城市？", "{N}搬到哪里去了？",
        "去哪里能找到{N}家？", "{N}定居在哪里？", "{N}在哪里生活？", "{N}住哪座城？", "{N}的家安在哪？",
        "{N}现在人在哪个城市？", "{N}住在什么地方？", "{N}在哪个城市落脚？", "{N}如今住在哪儿？",
        "我去哪个城市找{N}？", "{N}平时住在哪里？",
    ],
    "job": [
        "{N}干什么工作？", "{N}做哪行？", "{N}靠什么赚钱？", "{N}上什么班？", "{N}在做什么工作？",
        "{N}从事哪个行业？", "{N}是做哪一行的？", "{N}的工作是干什么的？", "{N}是什么职业？",
        "{N}平时做什么工作？", "{N}干的什么活？", "{N}以什么为生？", "{N}在单位做什么？",
        "{N}是搞什么的？", "{N}做的是什么工作？", "{N}干哪行的？",
    ],
    "pet": [
        "{N}的狗叫啥？", "{N}的猫叫啥名？", "{N}给狗起了什么名字？", "{N}给猫取了什么名？",
        "{N}家的猫叫什么？", "{N}养的狗叫什么？", "{N}的宠物名字叫什么？", "{N}的小狗叫啥？",
        "{N}的小猫叫什么？", "{N}家那只宠物叫啥？", "{N}的毛孩子叫啥名字？", "{N}怎么叫它家宠物？",
        "{N}养的小动物叫啥？", "{N}的宠物取的什么名？",
    ],
    "allergy": [
        "{N}对啥过敏？", "{N}不能吃什么？", "{N}要避开什么？", "{N}碰了什么会起疹子？",
        "{N}吃什么会过敏？", "什么东西{N}不能碰？", "{N}对哪样过敏？", "{N}怕接触什么？",
        "我不能给{N}吃什么？", "{N}对什么东西过敏？", "什么会让{N}不舒服？", "{N}要远离什么？",
        "给{N}做饭要避开什么？", "{N}一吃就过敏的是什么？", "{N}忌口什么？",
    ],
    "food": [
        "{N}喜欢吃啥？", "{N}最爱吃哪个？", "我该给{N}做什么菜？", "{N}点菜总点什么？", "{N}最想吃什么？",
        "{N}吃什么最开心？", "{N}爱吃哪道菜？", "给{N}做什么吃好？", "{N}最馋哪样？", "{N}平时爱吃什么？",
        "{N}最喜欢哪种吃的？", "{N}每次都点什么菜？", "{N}吃饭最爱点什么？", "请{N}吃饭该点什么？",
        "{N}最喜欢吃的是什么？",
    ],
}

# ---- stage 4: broader vocabulary (thesaurus-style synonyms, more verbs and auxiliaries) ------------

EN_NOUNS_MORE = {
    "birthday": ["birth anniversary", "date of birth and year", "big day", "birthday this year", "natal day",
                 "registered birthday", "birthday on record"],
    "city": ["home address city", "place of living", "base", "hometown city", "current home", "home city now",
             "city of abode", "dwelling place", "address", "permanent residence", "domicile"],
    "job": ["job role", "work title", "livelihood", "calling", "gig", "field of work", "business",
            "professional role", "employment role", "occupation title", "paid work", "means of living"],
    "pet": ["pet's nickname", "dog", "cat", "bunny's name", "hamster's name", "parrot's name",
            "four-legged friend's name", "animal companion", "little buddy's name", "pet's call name",
            "fish's name", "bird's name"],
    "allergy": ["allergy problem", "allergic trigger", "no-go food", "dietary restriction", "allergy warning",
                "reaction trigger", "allergy issue", "allergic sensitivity", "thing to avoid"],
    "food": ["favourite snack", "favourite treat", "favorite cuisine", "dream meal", "favourite bite",
             "number one dish", "top dish", "signature order", "usual order", "food of choice"],
}
EN_VERB_FRAMES_MORE = {
    "birthday": [
        "What date is {N}'s birthday?", "Which day of the year is {N}'s birthday?", "When was {N}'s birth?",
        "What date was {N} born on?", "When does {N} blow out the candles?", "When does {N} get a birthday cake?",
        "Which day should I call {N} to say happy birthday?", "When would {N} celebrate turning older?",
        "What year and day was {N} born?", "When did {N} start life?", "Which date marks {N}'s birth?",
        "When can I celebrate with {N}?", "When is {N} having a birthday?", "On what date was {N} born?",
    ],
    "city": [
        "Where would I find {N}?", "Which city would {N} be in?", "Where does {N} stay?",
        "What city has {N} made a home in?", "Where is {N}'s address?", "Which place does {N} live in?",
        "Where did {N} settle down?", "Where could I visit {N}?", "What town is {N}'s home?",
        "Where should I send {N}'s letters?", "Which city would I mail {N} in?", "Where does {N} live at the moment?",
        "Where can {N} be found these days?", "In which city is {N}'s home?",
    ],
    "job": [
        "What would {N} say the job is?", "What is {N}'s work?", "How does {N} pay the bills?",
        "What does {N} work as?", "Where would {N} say the work is?", "What did {N} train to become?",
        "What is {N} employed as?", "Which profession would {N} list?", "What does {N} get paid to do?",
        "What job would {N} put on a form?", "What kind of worker is {N}?", "What is {N}'s line of business?",
        "What does {N} do on a workday?", "How would {N} describe the job?",
    ],
    "pet": [
        "What would {N} call the pet?", "What did {N} name the pet?", "What is {N}'s pet named?",
        "What name does {N}'s pet have?", "How should I call {N}'s pet?", "What does {N}'s pet answer to?",
        "What would I call {N}'s animal?", "Which name did {N} pick for the pet?", "Who is {N}'s pet?",
        "What is the pet at {N}'s place named?", "What should I say to greet {N}'s pet?",
        "What name is on {N}'s pet's collar?", "What did {N} christen the pet?",
    ],
    "allergy": [
        "What would make {N} have a reaction?", "What should I avoid giving {N}?", "What does {N} need to avoid?",
        "What can't I give {N}?", "What would {N} react badly to?", "What should I not serve {N}?",
        "What shouldn't {N} touch?", "What does {N} stay away from because of allergies?",
        "What should I check for before cooking for {N}?", "What would hurt {N} to eat?",
        "What is off limits for {N}?", "What should be kept away from {N}'s plate?",
    ],
    "food": [
        "What would {N} like to eat?", "What would {N} like for dinner?", "What would {N} choose from a menu?",
        "What snack would {N} pick?", "What does {N} enjoy most at dinner?", "What would {N} eat every day?",
        "What should I order for {N}?", "What dish would make {N} smile?", "What would {N} ask me to cook?",
        "What could I buy {N} to eat?", "What meal would {N} enjoy?", "What would {N} never say no to?",
        "What does {N} like to eat best?", "What food would {N} pick first?",
    ],
}
ZH_NOUNS_MORE = {
    "birthday": ["生日是哪天", "出生日", "出生那天", "出生时间", "生日那天", "出生年份和日子"],
    "city": ["住所", "居所", "常住地", "现住址", "落脚的城市", "安家的城市", "住的城市", "家所在的城市"],
    "job": ["工作岗位", "谋生手段", "职业身份", "干的活", "从事的行业", "生计", "正式工作", "专业"],
    "pet": ["狗狗的名字", "猫咪的名字", "宠物小名", "小宠物", "爱犬的名字", "爱猫的名字", "兔子的名字", "鹦鹉的名字"],
    "allergy": ["过敏问题", "忌口", "不能碰的东西", "过敏禁忌", "过敏反应的来源", "饮食禁忌"],
    "food": ["最爱的零食", "最爱的口味", "拿手爱吃的", "最爱点的菜", "心头好的菜", "最馋的东西", "招牌爱吃"],
}
ZH_VERB_FRAMES_MORE = {
    "birthday": [
        "{N}哪天出生的？", "{N}生于哪一天？", "{N}的生日是几号？", "{N}出生在哪一天？", "{N}是哪年哪月生的？",
        "我想给{N}过生日，是哪天？", "哪天给{N}买蛋糕？", "{N}的生日快到了吗？是哪天？", "{N}出生是在哪天？",
        "{N}哪天吹蜡烛？", "什么时候是{N}的生日？",
    ],
    "city": [
        "{N}住在哪个城市？", "{N}的家在哪？", "{N}在哪儿安家？", "我该去哪找{N}？", "{N}的住址在哪个城市？",
        "{N}在哪座城市生活？", "给{N}寄信寄到哪个城市？", "{N}住的地方是哪？", "{N}现在住在哪座城市？",
        "{N}待在哪个城市？", "{N}在哪里住着？",
    ],
    "job": [
        "{N}是做什么的？", "{N}的工作是什么？", "{N}做什么谋生？", "{N}从事什么工作？", "{N}的本职工作是啥？",
        "{N}上班干什么？", "{N}在哪行工作？", "我该怎么介绍{N}的职业？", "{N}干的是哪一行？",
        "{N}是干哪个职业的？", "{N}每天上班做什么？",
    ],
    "pet": [
        "{N}的宠物名叫什么？", "{N}家狗狗叫什么？", "{N}的猫咪叫啥？", "我该怎么称呼{N}的狗？",
        "{N}给宠物起的名字是？", "{N}的宠物叫什么名字？", "{N}养的宠物名字是啥？", "{N}的爱宠叫什么？",
        "见到{N}的宠物我该叫它什么？", "{N}家的小动物叫什么名字？",
    ],
    "allergy": [
        "{N}不能碰什么？", "{N}碰什么会过敏？", "{N}吃了什么会难受？", "给{N}准备饭菜要注意什么过敏？",
        "{N}过敏的是什么？", "我该避免给{N}什么？", "{N}对哪种食物过敏？", "{N}最怕接触什么东西？",
        "{N}的饭里不能放什么？", "什么东西会让{N}过敏？",
    ],
    "food": [
        "{N}最想吃的是什么？", "{N}喜欢哪道菜？", "给{N}点什么菜好？", "{N}爱吃什么？", "{N}最喜欢什么吃的？",
        "{N}吃饭喜欢点什么？", "我请{N}吃什么好？", "{N}想吃点什么？", "{N}最爱的一口是什么？",
        "给{N}带什么吃的？", "{N}每天都想吃什么？",
    ],
}


_NORM = re.compile(r"[\s\W_]+", re.UNICODE)


def normalize(t: str) -> str:
    """Case-, space- and punctuation-insensitive form of a phrasing, for collision checks."""
    return _NORM.sub("", t.lower())


def paraphrases(ftype: str, lang: str, held_out: list[str], more: bool = False) -> list[str]:
    """Generated training phrasings for one fact type and language (sorted, deduplicated), minus
    any that equal a held-out phrasing. more: add stage 4's broader vocabulary (the *_MORE lists)."""
    if lang == "en":
        frames, nouns, verbs = EN_POSSESSIVE_FRAMES, EN_NOUNS[ftype], EN_VERB_FRAMES[ftype]
        if more:
            nouns, verbs = nouns + EN_NOUNS_MORE[ftype], verbs + EN_VERB_FRAMES_MORE[ftype]
    else:
        frames, nouns, verbs = ZH_POSSESSIVE_FRAMES, ZH_NOUNS[ftype], ZH_VERB_FRAMES[ftype]
        if more:
            nouns, verbs = nouns + ZH_NOUNS_MORE[ftype], verbs + ZH_VERB_FRAMES_MORE[ftype]
    out = {f.replace("{X}", x) for f in frames for x in nouns} | set(verbs)
    banned = {normalize(h) for h in held_out}
    return sorted(t for t in out if normalize(t) not in banned)
