"""Grammar fast path: build time and matching latency (p50/p99, outcome cache off/on) at 20, 500 and 2000 entities."""

from __future__ import annotations

import time

from _figures import figure, pct

from claw.assistant.understanding import Area, Entity, Floor, LastTouched, RoutineName, Understanding, Vocabulary

ROOM_NAMES = (
    "Kitchen",
    "Living Room",
    "Bedroom",
    "Study",
    "Hallway",
    "Garage",
    "Garden",
    "Office",
    "Nursery",
    "Dining Room",
    "Bathroom",
    "Laundry",
    "Attic",
    "Basement",
    "Porch",
    "Guest Room",
)
KINDS = (
    ("light", "", frozenset({"on", "brightness", "color_temp"}), "Lamp"),
    ("light", "", frozenset({"on", "brightness"}), "Ceiling"),
    ("shade", "blind", frozenset({"position"}), "Blinds"),
    ("switch", "", frozenset({"on"}), "Plug"),
    ("speaker", "", frozenset({"volume", "playing"}), "Speaker"),
    ("sensor", "contact", frozenset({"open"}), "Window Sensor"),
)
SENTENCES = (
    "turn on the kitchen lamp 0",
    "turn off the lights in the bedroom",
    "turn on the lights",
    "switch off all the lights in the house",
    "set the living room ceiling 1 brightness to 50%",
    "open the study blinds",
    "set bedroom to 50%",
    "lock the front door",
    "set temperature to 21 degrees",
    "pause",
    "turn off the lights in 10 minutes",
    "turn off the kitchen lights and lock the front door",
    "dim it a bit",
    "plz turn on the kitchn ligths",
    "play corner light off",
    "what is the weather like in paris tomorrow",
    "sleepy time",
    "is anything on?",
    "turn off everything",
    "is the window sensor 0 in the kitchen open",
    "at 11pm lock the front door",
    # Claw's own intents (feature templates, with wildcards): cameras, reminders, schedules, modes
    "what happened while I was out?",
    "remind me in 10 minutes to check the oven",
    "every day at sunset turn on the porch light",
    "we're away",
    "cancel the oven reminder",
)
OTHER_LANGUAGES = (
    "apaga las luces de la cocina",
    "schalte alle Lichter aus",
    "éteins la lumière de la cuisine",
    "apaga todo",
    "cierra todas las persianas",
)


def home(size: int) -> Vocabulary:
    """A generated home with about size entities spread over rooms and two floors."""
    rooms = max(2, min(len(ROOM_NAMES) * 4, size // 6))
    areas = []
    for i in range(rooms):
        base = ROOM_NAMES[i % len(ROOM_NAMES)]
        name = base if i < len(ROOM_NAMES) else f"{base} {i // len(ROOM_NAMES) + 1}"
        areas.append(Area(name, floor="Ground Floor" if i % 2 == 0 else "First Floor"))
    entities = [
        Entity("lock.front", "Front Door", room="Hallway", kind="lock", features=frozenset({"locked"})),
        Entity("climate.main", "Thermostat", room="Hallway", kind="thermostat", features=frozenset({"target_temp"})),
    ]
    i = 0
    while len(entities) < size:
        area = areas[i % len(areas)]
        kind, device_class, features, noun = KINDS[(i // len(areas)) % len(KINDS)]
        entities.append(
            Entity(
                f"{kind}.e{i}",
                f"{area.name} {noun} {i // len(areas)}",
                room=area.name,
                kind=kind,
                device_class=device_class,
                features=features,
            )
        )
        i += 1
    floors = (Floor("Ground Floor", ("downstairs",)), Floor("First Floor", ("upstairs",)))
    routines = (RoutineName("Bedtime", ("sleepy time",)), RoutineName("Movie Night"))
    return Vocabulary(entities=tuple(entities), areas=tuple(areas), floors=floors, routines=routines)


TARGET_P99_MS = 10.0  # issue 20: matching p99 under 10 ms at 500 devices


def timed(matcher: Understanding, texts: tuple[str, ...], rounds: int, context: LastTouched | None) -> list[float]:
    """Milliseconds per message, each text once per round."""
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter()
            matcher.understand(text, context=context)
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    # cache=off: every message is matched afresh (the figure the goal is about: p99 < 5 ms at 500 entities).
    # cache=on: the outcome cache serves repeats; each text is matched once, then 14 times from the cache.
    for size in (20, 500, 2000):
        vocabulary = home(size)
        start = time.perf_counter()
        understanding = Understanding(vocabulary, cache_size=0)
        figure("understanding_build", (time.perf_counter() - start) * 1000, "ms", entities=size, languages=1)
        context = LastTouched((vocabulary.entities[2].id,))
        samples = timed(understanding, SENTENCES, 15, context)
        figure("understanding_latency_p50", pct(samples, 50), "ms", entities=size, samples=len(samples), cache="off")
        figure(
            "understanding_latency_p99",
            pct(samples, 99),
            "ms",
            entities=size,
            samples=len(samples),
            cache="off",
            target=TARGET_P99_MS,
        )
        first = timed(Understanding(vocabulary, cache_size=0), SENTENCES, 1, context)
        figure("understanding_latency_first_max", max(first), "ms", entities=size, samples=len(first), cache="off")
        cached = timed(Understanding(vocabulary), SENTENCES, 15, context)
        figure("understanding_latency_p50", pct(cached, 50), "ms", entities=size, samples=len(cached), cache="on")
        figure("understanding_latency_p99", pct(cached, 99), "ms", entities=size, samples=len(cached), cache="on")
    vocabulary = home(500)
    start = time.perf_counter()
    understanding = Understanding(vocabulary, languages=["en", "es", "de", "fr"], cache_size=0)
    figure("understanding_build", (time.perf_counter() - start) * 1000, "ms", entities=500, languages=4)
    samples = timed(understanding, (*SENTENCES, *OTHER_LANGUAGES), 10, None)
    figure("understanding_latency_p50", pct(samples, 50), "ms", entities=500, languages=4, cache="off")
    p99 = pct(samples, 99)
    figure("understanding_latency_p99", p99, "ms", entities=500, languages=4, cache="off", target=TARGET_P99_MS)


if __name__ == "__main__":
    main()
