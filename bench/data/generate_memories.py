"""Deterministic conversational-memory dataset with ground truth, for ``bench/bench_quality.py``.

Each user gets 40 memories drawn from ~50 kinds of personal facts (pets, diet, work, family,
places, plans ...), with random names and values, and 12 questions. Every question targets one
specific memory and is phrased as a user would ask it in a later conversation, mostly with
*other words* than the memory (``"my dog Biscuit"`` vs ``"what is my pup called?"``), so lexical
and semantic retrieval can be told apart; about a third share a keyword, as real questions do.

Licence: generated from the templates below, no third-party text; ship it freely.

    .venv/bin/python bench/data/generate_memories.py      # writes bench/data/memories.jsonl

Line format: ``{"user": "user_07", "memories": [{"id": "m07_03", "text": ...}, ...],
"questions": [{"q": ..., "answers": ["m07_03"], "style": "paraphrase"|"keyword"}, ...]}``
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "memories.jsonl"
USERS = 50
MEMORIES_PER_USER = 40
QUESTIONS_PER_USER = 12
SEED = 20261121

NAMES = ["Biscuit", "Luna", "Pepper", "Milo", "Olive", "Rufus", "Nala", "Ziggy", "Mochi", "Juno"]
PEOPLE = ["Maria", "Tom", "Aisha", "Kenji", "Lucia", "Omar", "Greta", "Ravi", "Chloe", "Diego"]
CITIES = [
    "Lisbon",
    "Denver",
    "Osaka",
    "Nairobi",
    "Montreal",
    "Krakow",
    "Porto",
    "Austin",
    "Melbourne",
    "Utrecht",
]
FOODS = ["peanuts", "shellfish", "gluten", "dairy", "sesame", "eggs"]
CUISINES = ["Thai", "Ethiopian", "Georgian", "Peruvian", "Sichuan", "Lebanese"]
INSTRUMENTS = ["cello", "ukulele", "trumpet", "piano", "banjo", "violin"]
SPORTS = ["bouldering", "rowing", "fencing", "squash", "trail running", "water polo"]
LANGS = ["Portuguese", "Korean", "Swahili", "Dutch", "Polish", "Turkish"]
TOOLS = ["Rust", "Kotlin", "Elixir", "Haskell", "TypeScript", "Go"]
CARS = ["a blue Volvo estate", "a red Fiat Panda", "an old Land Rover", "a white Prius"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["March", "April", "June", "September", "October", "December"]
BOOKS = ["Dune", "Middlemarch", "The Overstory", "Piranesi", "Stoner", "Beloved"]
DRINKS = ["oat-milk flat white", "jasmine green tea", "double espresso", "rooibos", "chai latte"]

# (kind, memory template, [(question template, style), ...]); {x} is the random value.
FACTS: list[tuple[str, str, list[tuple[str, str]], list[str]]] = [
    (
        "dog",
        "User has a dog named {x}.",
        [("What is my pup called?", "paraphrase"), ("Remind me of my dog's name.", "keyword")],
        NAMES,
    ),
    (
        "cat",
        "User's cat {x} is fifteen years old.",
        [("How old is my kitty?", "paraphrase"), ("What's the name of my cat?", "keyword")],
        NAMES,
    ),
    (
        "allergy",
        "User is allergic to {x}.",
        [
            ("Which foods could make me sick?", "paraphrase"),
            ("Do I have any allergy I should mention?", "keyword"),
        ],
        FOODS,
    ),
    (
        "vegetarian",
        "User stopped eating meat in {x} last year.",
        [("Since when am I vegetarian?", "paraphrase")],
        MONTHS,
    ),
    (
        "cuisine",
        "User's favourite restaurant food is {x} cuisine.",
        [
            ("Which kind of dishes do I love most when dining out?", "paraphrase"),
            ("What cuisine should you pick for my birthday dinner?", "keyword"),
        ],
        CUISINES,
    ),
    (
        "coffee",
        "User drinks a {x} every morning.",
        [("What's my usual breakfast beverage?", "paraphrase")],
        DRINKS,
    ),
    (
        "job",
        "User works as a data engineer at a logistics startup.",
        [("What do I do for a living?", "paraphrase"), ("Where is my job?", "keyword")],
        [""],
    ),
    (
        "manager",
        "User's manager is called {x}.",
        [("Who is my boss?", "paraphrase"), ("What's my manager's name?", "keyword")],
        PEOPLE,
    ),
    (
        "language_code",
        "User writes most backend services in {x}.",
        [("Which programming language do I code in at work?", "paraphrase")],
        TOOLS,
    ),
    (
        "standup",
        "User has team standups every {x} at 9am.",
        [("When do my daily team meetings happen?", "paraphrase")],
        DAYS,
    ),
    (
        "city",
        "User lives in {x}.",
        [("Which city is home for me?", "paraphrase"), ("Where do I live?", "keyword")],
        CITIES,
    ),
    (
        "hometown",
        "User grew up in a small village near {x}.",
        [("Where did I spend my childhood?", "paraphrase")],
        CITIES,
    ),
    (
        "sister",
        "User's sister {x} is a paediatric nurse.",
        [
            ("What does my sibling do for work?", "paraphrase"),
            ("What is my sister's profession?", "keyword"),
        ],
        PEOPLE,
    ),
    (
        "partner",
        "User's partner {x} teaches chemistry at a high school.",
        [("What subject does my spouse teach?", "paraphrase")],
        PEOPLE,
    ),
    (
        "kids",
        "User has two daughters aged six and nine.",
        [("How many children do I have?", "paraphrase"), ("How old are my daughters?", "keyword")],
        [""],
    ),
    (
        "instrument",
        "User is learning to play the {x}.",
        [("Which musical instrument am I practising?", "paraphrase")],
        INSTRUMENTS,
    ),
    (
        "sport",
        "User goes {x} twice a week.",
        [("What exercise do I do regularly?", "paraphrase")],
        SPORTS,
    ),
    (
        "marathon",
        "User is training for a half marathon in {x}.",
        [("When is my big race?", "paraphrase"), ("When is the half marathon?", "keyword")],
        MONTHS,
    ),
    (
        "study_lang",
        "User is studying {x} for an upcoming move abroad.",
        [("Which foreign tongue am I learning?", "paraphrase")],
        LANGS,
    ),
    (
        "car",
        "User drives {x}.",
        [("What vehicle do I own?", "paraphrase"), ("Which car do I drive?", "keyword")],
        CARS,
    ),
    (
        "commute",
        "User cycles to the office, about 25 minutes each way.",
        [("How do I get to work?", "paraphrase")],
        [""],
    ),
    (
        "book",
        "User's favourite novel is {x}.",
        [("Which book do I love most?", "paraphrase")],
        BOOKS,
    ),
    (
        "podcast",
        "User listens to history podcasts while cooking.",
        [("What audio shows do I enjoy?", "paraphrase")],
        [""],
    ),
    (
        "birthday",
        "User's birthday is in {x}.",
        [
            ("When should you wish me many happy returns?", "paraphrase"),
            ("What month is my birthday?", "keyword"),
        ],
        MONTHS,
    ),
    (
        "anniversary",
        "User's wedding anniversary is on the 14th of {x}.",
        [("When did I get married?", "paraphrase")],
        MONTHS,
    ),
    (
        "trip",
        "User is planning a trip to {x} next spring.",
        [
            ("Where am I going on holiday?", "paraphrase"),
            ("Which destination is my next trip?", "keyword"),
        ],
        CITIES,
    ),
    (
        "flight_fear",
        "User is nervous about flying and prefers trains.",
        [("How do I like to travel long distances?", "paraphrase")],
        [""],
    ),
    (
        "sleep",
        "User usually goes to bed around 11pm and wakes at 6:30.",
        [("What is my sleep schedule?", "paraphrase")],
        [""],
    ),
    (
        "medication",
        "User takes a daily thyroid medication each morning.",
        [("Do I take any pills every day?", "paraphrase")],
        [""],
    ),
    (
        "doctor",
        "User's doctor is Dr. {x} at the local clinic.",
        [("Who is my GP?", "paraphrase")],
        PEOPLE,
    ),
    (
        "budget",
        "User is saving money for a house deposit.",
        [("What am I putting cash aside for?", "paraphrase")],
        [""],
    ),
    (
        "bank",
        "User prefers paying by card and avoids cash.",
        [("How do I like to pay for things?", "paraphrase")],
        [""],
    ),
    (
        "garden",
        "User grows tomatoes and basil on the balcony.",
        [("What plants do I have at home?", "paraphrase")],
        [""],
    ),
    (
        "movie",
        "User dislikes horror films but loves documentaries.",
        [("What should I watch tonight?", "paraphrase"), ("Which films do I dislike?", "keyword")],
        [""],
    ),
    (
        "music",
        "User's favourite band plays jazz fusion.",
        [("What genre of songs do I like?", "paraphrase")],
        [""],
    ),
    (
        "volunteer",
        "User volunteers at an animal shelter on Saturdays.",
        [("What charity work do I do at weekends?", "paraphrase")],
        [""],
    ),
    (
        "editor",
        "User prefers dark mode and uses Vim keybindings.",
        [("How do I like my code editor set up?", "paraphrase")],
        [""],
    ),
    (
        "laptop",
        "User's laptop is a 14-inch ThinkPad running Linux.",
        [("What computer do I use?", "paraphrase")],
        [""],
    ),
    (
        "timezone",
        "User works remotely in the Central European time zone.",
        [("What hours should meetings with me be scheduled in?", "paraphrase")],
        [""],
    ),
    (
        "email",
        "User wants short answers with bullet points.",
        [("How should you format replies for me?", "paraphrase")],
        [""],
    ),
    (
        "coffee_shop",
        "User meets friend {x} at a cafe every Friday.",
        [("Who do I see at the end of each week?", "paraphrase")],
        PEOPLE,
    ),
    (
        "parents",
        "User's parents live in {x} and visit every summer.",
        [
            ("When does my family come to stay?", "paraphrase"),
            ("Where do my parents live?", "keyword"),
        ],
        CITIES,
    ),
    (
        "degree",
        "User studied physics at university.",
        [("What was my major in college?", "paraphrase")],
        [""],
    ),
    (
        "cooking",
        "User bakes sourdough bread every weekend.",
        [("What do I make in the kitchen on Sundays?", "paraphrase")],
        [""],
    ),
    (
        "phone",
        "User's phone is an old Android they refuse to replace.",
        [("What smartphone do I have?", "paraphrase")],
        [""],
    ),
    (
        "neighbour",
        "User's neighbour {x} looks after the plants during trips.",
        [("Who waters my greenery when I'm away?", "paraphrase")],
        PEOPLE,
    ),
    (
        "knee",
        "User injured their left knee skiing and avoids running downhill.",
        [("Do I have any sports injuries?", "paraphrase")],
        [""],
    ),
    (
        "goal",
        "User wants to read 30 books this year.",
        [("What is my reading target?", "paraphrase")],
        [""],
    ),
    (
        "pet_food",
        "User feeds the dog a grain-free diet.",
        [("What does my pup eat?", "paraphrase")],
        [""],
    ),
    (
        "tea",
        "User never drinks caffeine after 3pm.",
        [("Can I have coffee in the evening?", "paraphrase")],
        [""],
    ),
]


def generate(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for u in range(USERS):
        kinds = rng.sample(FACTS, k=MEMORIES_PER_USER)
        memories = []
        candidates = []
        for i, (_kind, template, questions, values) in enumerate(kinds):
            mid = f"m{u:02d}_{i:02d}"
            text = template.format(x=rng.choice(values))
            memories.append({"id": mid, "text": text})
            for q, style in questions:
                candidates.append({"q": q, "answers": [mid], "style": style})
        rng.shuffle(candidates)
        out.append(
            {
                "user": f"user_{u:02d}",
                "memories": memories,
                "questions": candidates[:QUESTIONS_PER_USER],
            }
        )
    return out


def main() -> None:
    rows = generate()
    OUT.write_text(
        "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows),
        "utf-8",
    )
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, {len(rows)} users)")


if __name__ == "__main__":
    main()
