"""Deterministic multi-session conversations with graded questions, for ``bench_quality.py``.

Harder than ``memories.jsonl``: every user turn of a user's sessions is stored as one memory
(facts, chit-chat and distractors alike, ~100 per user), and questions come in six categories:

* ``keyword``: shares a rare word with its evidence turn;
* ``paraphrase``: asks with other words (``"Do I eat meat?"`` for ``"I've been vegetarian..."``);
* ``names``: two people of the user share a first name; the question says which one it means;
* ``temporal``: when something happened, or which of two things came first (two evidence turns);
* ``multi_hop``: needs two turns (``"my sister lives in Porto"`` + ``"flying to see my
  sister"`` for ``"Which city am I flying to?"``);
* ``follow_up``: ``"When was that?"`` right after a question about an event; only the
  conversation says what "that" is.

Each question comes with the previous user turn and the assistant's reply (the conversation
recall sees): its base question for a follow-up, the user's previous question otherwise.
Distractors share words with the questions (a coworker's dog, a cousin's move, another trip).

Licence: generated from the templates below, no third-party text; ship it freely.

    .venv/bin/python bench/data/generate_conversations.py  # writes conversations.jsonl
    # another draw of the same templates (a check that a tuned ranking does not overfit):
    .venv/bin/python bench/data/generate_conversations.py --seed 7 --out /tmp/conv7.jsonl

Line format: ``{"user": "u07", "turns": [{"id": "t07_003", "session": 2, "text": ...}, ...],
"questions": [{"q", "previous", "reply", "answers": [ids], "category"}, ...]}``.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "conversations.jsonl"
USERS = 30
SESSIONS = 6
SEED = 20261130

FIRST = ["Maria", "Tom", "Aisha", "Kenji", "Lucia", "Omar", "Greta", "Ravi", "Chloe", "Diego"]
SURNAMES = ["Becker", "Alvarez", "Okafor", "Nakamura", "Rossi", "Haddad", "Larsen", "Iyer"]
PETS = ["Biscuit", "Luna", "Pepper", "Milo", "Olive", "Rufus", "Nala", "Ziggy", "Mochi"]
BREEDS = ["beagle", "border collie", "dachshund", "greyhound", "corgi", "labrador"]
CITIES = ["Lisbon", "Denver", "Osaka", "Nairobi", "Montreal", "Krakow", "Porto", "Utrecht"]
MONTHS = ["January", "March", "April", "June", "August", "September", "October", "December"]
YEARS = ["2019", "2020", "2021", "2022", "2023"]
INSTRUMENTS = ["cello", "trumpet", "clarinet", "viola", "oboe", "trombone"]
JOBS = ["radiologist", "pharmacist", "physiotherapist", "anaesthetist", "midwife"]
COMPANIES = ["Northwind", "Globex", "Initech", "Umbrella Labs", "Hooli", "Vandelay"]
PLACES = ["the Dolomites", "Snowdonia", "the Pyrenees", "Patagonia", "the Tatras"]
ACTIVITIES = ["hiking", "ski touring", "climbing", "kayaking", "trail running"]
RESTAURANTS = ["Casa Lupa", "Noma Nova", "The Gilded Fig", "Sakura Tei", "El Faro"]
DISHES = ["octopus", "tasting menu", "ramen", "paella", "lamb shoulder"]
OCCASIONS = ["our anniversary", "my promotion", "Dad's retirement", "my birthday"]
HOLIDAYS = ["Easter", "Thanksgiving", "the long weekend", "Christmas", "the summer break"]
HOBBIES = ["pottery", "salsa dancing", "woodworking", "Italian lessons", "life drawing"]
SCHOOLS = ["Maple Grove", "Riverside Primary", "St. Anne's", "Hillcrest"]
KIDS = ["Noah", "Emma", "Leo", "Mia", "Ada", "Finn"]

CHITCHAT = [
    "Thanks, that helps a lot!",
    "Can you summarise this article for me?",
    "What's a good recipe for dinner tonight?",
    "Remind me to call the bank tomorrow.",
    "Ugh, it's raining again.",
    "Can you help me write an email to my landlord about the heating?",
    "What's the difference between a Roth IRA and a traditional one?",
    "Give me three ideas for a rainy Sunday.",
    "I slept terribly last night.",
    "How do I get red wine out of a carpet?",
    "Tell me a joke about programmers.",
    "Any tips for staying focused when working from home?",
    "What's the weather usually like in spring?",
    "Translate 'good morning' into Japanese please.",
    "I need a gift idea for a coworker, nothing expensive.",
    "How long should I boil an egg for a runny yolk?",
    "Can you explain how compound interest works?",
    "My laptop keeps freezing, any idea why?",
    "Let's plan my week, I have a lot going on.",
    "What's a good book for a long flight?",
    "I'm so tired of meetings today.",
    "Help me draft a polite reply declining an invitation.",
    "How many calories are in a banana?",
    "Is it worth learning to touch type?",
    "Write a haiku about autumn.",
    "Can dogs eat grapes?",
    "What time zone is Osaka in?",
    "Quick question: how do I split a bill fairly with friends?",
    "I just got back from the gym and I'm starving.",
    "Recommend a podcast about history.",
    "My coworker keeps scheduling meetings at lunch.",
    "What should I pack for a weekend trip to the coast?",
    "Is it normal for a car to make a squeaking noise when braking?",
    "I want to drink more water, any tricks?",
    "What's the capital of Australia?",
    "The train was late again this morning.",
]


class User:
    """One user's sessions under construction: turns (with ids) and questions."""

    def __init__(self, index: int, rng: random.Random) -> None:
        self.index = index
        self.rng = rng
        self.turns: list[dict[str, Any]] = []
        self.questions: list[dict[str, Any]] = []
        self.pending: list[tuple[int, str]] = []  # (session, text) before ids are assigned

    def say(self, session: int, text: str) -> int:
        """Schedule a user turn in ``session``; returns its handle (resolved to an id later)."""
        self.pending.append((session, text))
        return len(self.pending) - 1

    def ask(
        self,
        category: str,
        q: str,
        reply: str,
        answers: list[int],
        follow_up: tuple[str, list[int]] | None = None,
        follow_category: str = "follow_up",
    ) -> None:
        """A question (and its reply); with ``follow_up``, a dependent question right after."""
        self.questions.append({"q": q, "reply": reply, "answers": answers, "category": category})
        if follow_up is not None:
            fq, fanswers = follow_up
            self.questions.append(
                {
                    "q": fq,
                    "reply": "",
                    "answers": fanswers,
                    "category": follow_category,
                    "after": len(self.questions) - 1,
                }
            )

    def finish(self) -> dict[str, Any]:
        """Order turns by session (stable, shuffled within a session) and assign ids."""
        order = sorted(
            range(len(self.pending)), key=lambda i: (self.pending[i][0], self.rng.random())
        )
        ids: dict[int, str] = {}
        for n, handle in enumerate(order):
            session, text = self.pending[handle]
            ids[handle] = f"t{self.index:02d}_{n:03d}"
            self.turns.append({"id": ids[handle], "session": session, "text": text})
        # questions: a conversation of their own, shuffled, a follow-up right after its base
        groups: list[list[dict[str, Any]]] = []
        for q in self.questions:
            q = {**q, "answers": [ids[h] for h in q["answers"]]}
            if "after" in q:
                groups[-1].append(q)
            else:
                groups.append([q])
        self.rng.shuffle(groups)
        questions: list[dict[str, Any]] = []
        previous: dict[str, Any] | None = None
        for group in groups:
            for q in group:
                q.pop("after", None)
                q["previous"] = previous["q"] if previous else ""
                q["previous_reply"] = previous["reply"] if previous else ""
                questions.append(q)
                previous = q
        return {"user": f"u{self.index:02d}", "turns": self.turns, "questions": questions}


def _session(u: User) -> int:
    return u.rng.randrange(SESSIONS)


def pet(u: User) -> None:
    r = u.rng
    name, other = r.sample(PETS, 2)
    breed, breed2 = r.sample(BREEDS, 2)
    coworker = r.choice(FIRST)
    e = u.say(
        _session(u), f"We finally adopted a {breed} puppy from the shelter, we named him {name}!"
    )
    vet = u.say(_session(u), f"{name} has his vaccinations at the vet on Friday, fingers crossed.")
    u.say(_session(u), f"My coworker {coworker} brought her {breed2} {other} to the office today.")
    u.say(_session(u), "Dogs at work are great for morale honestly.")
    u.ask(
        "paraphrase",
        "What is my dog called?",
        f"Your puppy is called {name}.",
        [e],
        follow_up=("When is his next vet appointment?", [vet]),
    )


def diet(u: User) -> None:
    r = u.rng
    year = r.choice(YEARS)
    e = u.say(_session(u), f"I've been vegetarian since {year}, mostly for ethical reasons.")
    u.say(_session(u), "My brother is doing a carnivore diet now, it's all steak and eggs.")
    u.say(_session(u), "Can you suggest a chicken marinade for my parents' barbecue?")
    u.ask("paraphrase", "Do I eat meat?", f"No, you've been vegetarian since {year}.", [e])


def music(u: User) -> None:
    r = u.rng
    inst, inst2 = r.sample(INSTRUMENTS, 2)
    day = r.choice(["Tuesdays", "Thursdays", "Wednesdays"])
    e = u.say(_session(u), f"I play {inst} in a community orchestra, rehearsals are on {day}.")
    u.say(_session(u), f"My nephew wants to learn the {inst2}, is that a good first instrument?")
    u.say(_session(u), "We had a concert in the park, so many people came.")
    u.ask(
        "paraphrase",
        "Which ensemble am I part of and what do I play in it?",
        f"You play {inst} in a community orchestra.",
        [e],
    )
    u.ask("keyword", f"When are my {inst} rehearsals?", f"On {day}.", [e])


def job(u: User) -> None:
    r = u.rng
    work, other = r.sample(JOBS, 2)
    company = r.choice(COMPANIES)
    e = u.say(_session(u), f"Long shift today, being a {work} at the city hospital is exhausting.")
    u.say(_session(u), f"My friend is applying for a {other} job at the same hospital.")
    u.say(_session(u), f"I keep getting recruiter emails from {company}, no thanks.")
    u.ask(
        "paraphrase",
        "What do I do for a living?",
        f"You work as a {work} at the city hospital.",
        [e],
    )


def shared_names(u: User) -> None:
    r = u.rng
    name = r.choice(FIRST)
    s1, s2 = r.sample(SURNAMES, 2)
    honey = r.choice(["lavender honey", "wildflower honey", "chestnut honey"])
    e1 = u.say(
        _session(u),
        f"{name} {s1}, my manager, wants status updates as three bullet points, nothing longer.",
    )
    e2 = u.say(
        _session(u),
        f"My neighbour {name} {s2} keeps bees in her backyard and gave us a jar of {honey}.",
    )
    u.say(_session(u), f"{name} from the climbing gym cancelled on me again.")
    u.say(_session(u), "I have a one-on-one with my manager tomorrow about the roadmap.")
    u.ask(
        "names",
        f"How does my boss {name} like to receive updates?",
        "As three bullet points.",
        [e1],
    )
    u.ask("names", f"What did {name} next door give us?", f"A jar of {honey}.", [e2])


def move(u: User) -> None:
    r = u.rng
    city, city2 = r.sample(CITIES, 2)
    month, year = r.choice(MONTHS), r.choice(YEARS)
    e = u.say(
        _session(u),
        f"It's been a while since we moved to {city} in {month} {year}, it feels like home now.",
    )
    u.say(_session(u), f"My cousin is thinking of moving to {city2} next year.")
    u.say(_session(u), "Moving boxes are still in the garage, I should deal with them.")
    u.ask("temporal", f"When did I move to {city}?", f"In {month} {year}.", [e])


def order(u: User) -> None:
    r = u.rng
    hobby = r.choice(HOBBIES)
    m1, m2 = sorted(r.sample(range(len(MONTHS)), 2))
    first = hobby if r.random() < 0.5 else "quit the gym"
    e1 = u.say(
        _session(u),
        f"I signed up for {hobby} classes back in {MONTHS[m1 if first == hobby else m2]}.",
    )
    e2 = u.say(
        _session(u),
        f"I cancelled my gym membership in {MONTHS[m2 if first == hobby else m1]}, "
        "it was a waste of money.",
    )
    u.say(_session(u), f"A friend invited me to try {r.choice(HOBBIES)} with her.")
    u.ask(
        "temporal",
        f"Which came first: starting {hobby} or cancelling the gym?",
        f"{first} came first.",
        [e1, e2],
    )


def sister(u: User) -> None:
    r = u.rng
    sis = r.choice(FIRST)
    city, city2 = r.sample(CITIES, 2)
    holiday = r.choice(HOLIDAYS)
    e1 = u.say(_session(u), f"My sister {sis} lives in {city} with her two kids.")
    e2 = u.say(_session(u), f"Booked my flights! I'm going to see my sister over {holiday}.")
    u.say(_session(u), f"My colleague is flying to {city2} for a conference next month.")
    u.say(_session(u), "Airport security took forever last time I flew.")
    u.ask(
        "multi_hop",
        f"Which city am I flying to over {holiday}?",
        f"To {city}, to see {sis}.",
        [e1, e2],
    )


def friend_work(u: User) -> None:
    r = u.rng
    friend, other = r.sample(FIRST, 2)
    company, company2 = r.sample(COMPANIES, 2)
    e1 = u.say(_session(u), f"{friend} has been my best friend since primary school.")
    e2 = u.say(_session(u), f"{friend} just got a job offer from {company} as a product designer.")
    u.say(_session(u), f"{other} from book club works at {company2}.")
    u.ask("multi_hop", "Where is my best friend going to work?", f"At {company}.", [e1, e2])


def trip(u: User) -> None:
    r = u.rng
    place = r.choice(PLACES)
    activity = r.choice(ACTIVITIES)
    friend = r.choice(FIRST)
    month = r.choice(MONTHS)
    e1 = u.say(
        _session(u), f"Just got back from {activity} in {place} with {friend}, my legs are dead."
    )
    e2 = u.say(
        _session(u),
        f"Looking at the photos from {place} again, that was in {month} "
        "and the weather was perfect.",
    )
    u.say(_session(u), f"{friend} wants to go {r.choice(ACTIVITIES)} again next spring.")
    u.say(_session(u), "What boots do you recommend for long walks?")
    u.ask(
        "keyword",
        f"Who did I go {activity} with in {place}?",
        f"You went with {friend}.",
        [e1],
        follow_up=("When was that?", [e2]),
    )


def dinner(u: User) -> None:
    r = u.rng
    restaurant = r.choice(RESTAURANTS)
    occasion = r.choice(OCCASIONS)
    dish = r.choice(DISHES)
    e1 = u.say(_session(u), f"We celebrated {occasion} at {restaurant} last night.")
    e2 = u.say(
        _session(u), f"Still thinking about the {dish} at {restaurant}, easily the best I've had."
    )
    u.say(_session(u), "Can you find me a recipe for a quick weeknight dinner?")
    u.say(_session(u), f"The {r.choice(DISHES)} at the work canteen was awful today.")
    u.ask(
        "paraphrase",
        f"Where did we go out to eat for {occasion}?",
        f"At {restaurant}.",
        [e1],
        follow_up=("What did I think of the food there?", [e2]),
    )


def kid_school(u: User) -> None:
    r = u.rng
    kid = r.choice(KIDS)
    school = r.choice(SCHOOLS)
    e = u.say(
        _session(u), f"{kid} started kindergarten at {school} this week and cried at drop-off."
    )
    teacher = u.say(
        _session(u),
        f"{kid}'s teacher, Ms. {r.choice(SURNAMES)}, says the crying stopped after day two.",
    )
    u.say(_session(u), "School run traffic is the worst part of my morning.")
    u.ask(
        "paraphrase",
        "Which school does my child attend?",
        f"{kid} goes to {school}.",
        [e],
        follow_up=("How is the settling in going?", [teacher]),
    )


def allergy(u: User) -> None:
    r = u.rng
    food = r.choice(["peanuts", "shellfish", "sesame", "kiwi"])
    e = u.say(_session(u), f"Had a scary reaction at lunch, I really have to avoid {food}.")
    u.say(_session(u), "My friend's kid has a gluten allergy so I baked gluten-free cookies.")
    u.ask("paraphrase", "Is there anything I'm allergic to?", f"You react badly to {food}.", [e])
    u.ask("keyword", f"Can I eat {food}?", f"No, you had a reaction to {food}.", [e])


def marathon(u: User) -> None:
    r = u.rng
    city, city2 = r.sample(CITIES, 2)
    month = r.choice(MONTHS)
    e = u.say(
        _session(u),
        f"Training plan is brutal but I'm registered for the {city} marathon in {month}.",
    )
    u.say(_session(u), f"I watched the {city2} marathon on TV, the winner was incredible.")
    u.say(_session(u), "Running in the rain this morning was miserable.")
    u.ask("paraphrase", "What race am I preparing for?", f"The {city} marathon in {month}.", [e])


SCENARIOS: list[Callable[[User], None]] = [
    pet,
    diet,
    music,
    job,
    shared_names,
    move,
    order,
    sister,
    friend_work,
    trip,
    dinner,
    kid_school,
    allergy,
    marathon,
]


def generate(seed: int = SEED, users_n: int = USERS) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    users = []
    for i in range(users_n):
        u = User(i, random.Random(rng.random()))
        for scenario in SCENARIOS:
            scenario(u)
        for text in u.rng.sample(CHITCHAT, 30):
            u.say(_session(u), text)
        users.append(u.finish())
    return users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help="the committed file's by default")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = generate(args.seed, args.users)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    n_turns = sum(len(r["turns"]) for r in rows)
    n_q = sum(len(r["questions"]) for r in rows)
    print(f"wrote {args.out}: {len(rows)} users, {n_turns} turns, {n_q} questions")


if __name__ == "__main__":
    main()
