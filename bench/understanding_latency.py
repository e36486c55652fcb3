"""Grammar fast path: build time and matching latency (p50/p99) for generated homes of 20, 500 and 2000 entities."""

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


def main() -> None:
    for size in (20, 500, 2000):
        vocabulary = home(size)
        start = time.perf_counter()
        understanding = Understanding(vocabulary)
        figure("understanding_build", (time.perf_counter() - start) * 1000, "ms", entities=size, languages=1)
        context = LastTouched((vocabulary.entities[2].id,))
        samples: list[float] = []
        for _ in range(15):
            for text in SENTENCES:
                start = time.perf_counter()
                understanding.understand(text, context=context)
                samples.append((time.perf_counter() - start) * 1000)
        figure("understanding_latency_p50", pct(samples, 50), "ms", entities=size, samples=len(samples))
        figure("understanding_latency_p99", pct(samples, 99), "ms", entities=size, samples=len(samples))
    vocabulary = home(500)
    start = time.perf_counter()
    understanding = Understanding(vocabulary, languages=["en", "es", "de", "fr"])
    figure("understanding_build", (time.perf_counter() - start) * 1000, "ms", entities=500, languages=4)
    samples = []
    for _ in range(10):
        for text in (*SENTENCES, "apaga las luces de la cocina", "schalte alle Lichter aus"):
            start = time.perf_counter()
            understanding.understand(text)
            samples.append((time.perf_counter() - start) * 1000)
    figure("understanding_latency_p50", pct(samples, 50), "ms", entities=500, languages=4)
    figure("understanding_latency_p99", pct(samples, 99), "ms", entities=500, languages=4)


if __name__ == "__main__":
    main()
