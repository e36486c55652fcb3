"""Household memory: recall of paraphrased questions, words alone vs words and meaning; latency; prompt size; "why".

304 facts stated over six months of simulated conversations in four homes (76 subjects each, 19 of them
corrected later in two homes: the old fact is superseded, never current), then 304 questions, one per fact,
in en/es/de/fr in turn, 93 % of them sharing no word with the fact (tests/memory_cases.py). Figures:

- recall@5, FTS5 alone and hybrid (reciprocal-rank fusion, tuned on homes 0-1 and reported on homes 2-3
  and on all), overall and per language, for each embedder — each figure names which gave it: the real
  embedding models where tests/real_llm_setup.py set them up, through the OpenAI /v1/embeddings API as Claw
  calls any server (all-MiniLM-L6-v2, English-only, an F16 GGUF on llama.cpp's server with --embedding;
  Universal Sentence Encoder Multilingual v3, a numpy port, on tests/use_server.py), the scripted stand-in
  (tests/fakes/meaning.py: a small synonym lexicon, not a model), and with --qwen-embeddings the chat
  model's mean-pooled vectors (Qwen2.5-Coder 0.5B: not an embedding model);
- superseded facts returned among the top 5 (must be 0);
- retrieval latency with 10,000 facts (FTS5 + sqlite-vec scan + fusion; the query's vector made beforehand,
  its cost reported apart);
- prompt tokens for remembered facts per turn: all facts (before) vs retrieved ones (after);
- "why" questions answered from the timeline without a model, in four languages;
- with the real small chat model (Qwen2.5-Coder 0.5B), answer accuracy on 50 questions from the facts the
  multilingual encoder's hybrid recall put in the prompt, and from the right fact alone.

.venv/bin/python bench/memory_recall.py [--no-real] [--real-only] [--qwen-embeddings]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _figures import figure, pct

from claw.assistant import tokens
from claw.assistant.embedder import Embedder, OpenAIEmbedder
from claw.assistant.recollection import Fusion, Recollection, fuse
from claw.assistant.understanding import Entity, Understanding, Understood, Vocabulary
from claw.assistant.why import Timeline, TimelineAnswers
from claw.core.config import LLMConfig
from claw.core.request import Request
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.audit import AuditEntry, write_many
from claw.core.store.messages import Message
from claw.home.device import Device
from tests.fakes.meaning import HOUSEHOLD_CONCEPTS, Meaning
from tests.memory_cases import CORRECTED, HOMES, LANGS, SUBJECTS

MINILM_LABEL = "all-MiniLM-L6-v2 (English), F16 GGUF on llama.cpp's server --embedding"
USE_LABEL = "Universal Sentence Encoder Multilingual v3 (numpy port), OpenAI /v1/embeddings"
MONTH = 30 * 86400.0
START = time.time() - 7 * MONTH
TOP = 5


class ScriptedEmbedder:
    """The scripted stand-in, in process: tests/fakes/meaning.py's lexicon vectors."""

    model = "scripted-meaning"

    def __init__(self) -> None:
        self.meaning = Meaning(HOUSEHOLD_CONCEPTS)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.meaning(t) for t in texts]

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Question:
    home: int
    subject: int
    language: str
    text: str
    current: int  # the fact that holds
    superseded: int  # the fact it replaced (0: none)


async def state(store: Store) -> list[Question]:
    """Six months of conversations in four homes: each subject said once, some corrected months later."""
    rng = random.Random(23)
    questions: list[Question] = []
    for home in range(HOMES):
        scope = f"owner:home{home}"
        for index, subject in enumerate(SUBJECTS):
            said_at = START + rng.random() * 5 * MONTH
            text = subject.fact.format(x=subject.values[home])
            message = Message(
                "user", f"by the way, {text.lower()}", sender=f"owner{home}", channel="whatsapp", ts=said_at
            )
            [mid] = await store.run(log_db.append, scope, [message])
            fact = await store.run(
                facts_db.remember, text, scope=scope, author=f"owner{home}", source="whatsapp", message=mid, ts=said_at
            )
            current, superseded = fact.id, 0
            if index in CORRECTED and home in (1, 3):  # "we moved it": months later, the new value supersedes
                later = said_at + MONTH + rng.random() * MONTH
                new_text = subject.fact.format(x=subject.values[4])
                new = await store.run(
                    facts_db.remember,
                    new_text,
                    scope=scope,
                    author=f"owner{home}",
                    source="telegram",
                    replaces=fact.id,
                    ts=later,
                )
                current, superseded = new.id, fact.id
            language = LANGS[(home + index) % len(LANGS)]
            questions.append(
                Question(home, index, language, subject.questions[LANGS.index(language)], current, superseded)
            )
    return questions


@dataclass(frozen=True, slots=True)
class Legs:
    keyword: list[int]
    vector: list[tuple[int, float]]


async def legs(store: Store, memory: Recollection, questions: Sequence[Question]) -> list[Legs]:
    out: list[Legs] = []
    for q in questions:
        scopes = [f"owner:home{q.home}"]
        keyword = await store.run(facts_db.keyword_ranks, q.text, scopes, 50)
        vector: list[tuple[int, float]] = []
        if memory.embedder is not None:
            v = await memory.query_vector(q.text)
            if v is not None:
                vector = await store.run(facts_db.vector_ranks, v, memory.embedder.model, scopes, 50)
        out.append(Legs(keyword, vector))
    return out


def recall(questions: Sequence[Question], found: Sequence[Legs], fusion: Fusion | None) -> tuple[float, int]:
    """recall@5 and how many superseded facts were among the top 5."""
    hits, stale = 0, 0
    for q, leg in zip(questions, found, strict=True):
        top = leg.keyword[:TOP] if fusion is None else [i for i, *_ in fuse(leg.keyword, leg.vector, fusion)[:TOP]]
        hits += q.current in top
        stale += bool(q.superseded) and q.superseded in top
    return hits / len(questions), stale


def tune(questions: Sequence[Question], found: Sequence[Legs]) -> Fusion:
    """The fusion settings with the best recall@5 on these questions (ties: the simplest, k largest)."""
    best: tuple[float, Fusion] | None = None
    grid = ((5.0, 10.0, 20.0, 60.0), (0.25, 0.5, 1.0, 2.0), (0.5, 0.65, 0.75, 0.9, 1.0))
    for k, kw, distance in itertools.product(*grid):
        fusion = Fusion(k=k, keyword_weight=kw, vector_weight=1.0, max_distance=distance)
        score, _ = recall(questions, found, fusion)
        if best is None or score > best[0]:
            best = (score, fusion)
    assert best is not None
    return best[1]


@dataclass(frozen=True, slots=True)
class Asked:
    """A question for the answering model: what memory put in its prompt, and the value the answer must hold."""

    text: str
    facts: tuple[str, ...]
    value: str
    language: str
    fact: str  # the one that answers it


async def recall_figures(embedder: Embedder | None, label: str, keep: list[Asked] | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="claw-memory-") as folder:
        store = Store(Path(folder) / "claw.db")
        await store.open()
        memory = Recollection(store, embedder, query_seconds=120.0)  # a loaded 2-core machine: never skip the leg
        try:
            questions = await state(store)
            started = time.perf_counter()
            embedded = await memory.backfill(limit=10_000)
            embed_seconds = time.perf_counter() - started
            found = await legs(store, memory, questions)
            facts = await store.run(lambda db: db.execute("SELECT COUNT(*) FROM facts").fetchone()[0])
            figure(
                "memory facts stated",
                facts,
                "facts",
                homes=HOMES,
                subjects=len(SUBJECTS),
                superseded=facts - len(questions),
            )
            figure("memory questions", len(questions), "questions", languages=list(LANGS))
            words, stale = recall(questions, found, None)
            figure("memory recall@5 FTS5 alone", 100 * words, "%", superseded_in_top5=stale, questions=len(questions))
            if embedder is None:
                return
            figure(f"embedding time per fact ({label})", 1000 * embed_seconds / max(embedded, 1), "ms", embedder=label)
            tuning = [i for i, q in enumerate(questions) if q.home < 2]
            held_out = [i for i, q in enumerate(questions) if q.home >= 2]
            tuned = tune([questions[i] for i in tuning], [found[i] for i in tuning])
            for name, fusion in (("shipped", Fusion()), ("tuned", tuned)):
                on_all, stale = recall(questions, found, fusion)
                held, _ = recall([questions[i] for i in held_out], [found[i] for i in held_out], fusion)
                figure(
                    f"memory recall@5 hybrid ({label}, {name} fusion)",
                    100 * on_all,
                    "%",
                    held_out_homes_2_3=round(100 * held, 1),
                    superseded_in_top5=stale,
                    fusion={
                        "k": fusion.k,
                        "keyword_weight": fusion.keyword_weight,
                        "max_distance": fusion.max_distance,
                    },
                    embedder=label,
                )
            per_language: dict[str, dict[str, float]] = {}
            for lang in LANGS:
                chosen = [i for i, q in enumerate(questions) if q.language == lang]
                asked_here, found_here = [questions[i] for i in chosen], [found[i] for i in chosen]
                per_language[lang] = {
                    "fts5": round(100 * recall(asked_here, found_here, None)[0], 1),
                    "hybrid": round(100 * recall(asked_here, found_here, Fusion())[0], 1),
                }
            figure(
                f"memory recall@5 hybrid by language ({label})",
                100 * recall(questions, found, Fusion())[0],
                "%",
                fusion="shipped",
                **per_language,
            )
            await prompt_figures(store, memory)
            if keep is not None:  # the first 50 questions of home 0, with the facts the prompt would hold
                for q in [q for q in questions if q.home == 0][:50]:
                    found_facts = await memory.search(q.text, [f"owner:home{q.home}"], 5)
                    subject = SUBJECTS[q.subject]
                    right = subject.fact.format(x=subject.values[0])
                    keep.append(
                        Asked(q.text, tuple(f.fact.text for f in found_facts), subject.values[0], q.language, right)
                    )
        finally:
            await memory.close()
            await store.close()


async def prompt_figures(store: Store, memory: Recollection) -> None:
    """Tokens of remembered facts in one turn's prompt: every fact (before) vs the retrieved ones (after)."""
    scope = "owner:home0"
    every = await store.run(facts_db.facts, [scope], 10_000)
    lines = [f"- {f.text} ({f.author}, 2026-01-01)" for f in every]
    before = tokens.count("\n".join(lines))
    found = await memory.search("when do the children sleep?", [scope], 8)
    after = tokens.count("\n".join(f"- {f.fact.text} ({f.fact.author}, 2026-01-01)" for f in found))
    figure("prompt tokens for facts per turn, before (all facts)", before, "tokens", facts=len(every))
    figure("prompt tokens for facts per turn, after (retrieved)", after, "tokens", facts=len(found), recall_facts=8)


async def latency_figures(embedder: Embedder | None, label: str, dim: int) -> None:
    """10,000 facts in one household; the query vector made beforehand (its own cost is its own figure)."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="claw-memory-10k-") as folder:
        store = Store(Path(folder) / "claw.db")
        await store.open()
        try:
            scope = facts_db.HOUSEHOLD
            texts = [
                f"{subject.fact.format(x=rng.choice(subject.values))} (note {n})"
                for n, subject in zip(range(10_000), itertools.cycle(SUBJECTS), strict=False)
            ]

            def fill(db: Any) -> None:
                with db.conn:
                    for text in texts:
                        facts_db.remember(db, text, scope=scope, author="owner", source="bench")

            await store.run(fill)
            every = tokens.count("\n".join(f"- {t} (owner, 2026-01-01)" for t in texts))
            figure(
                "prompt tokens for facts per turn at 10k facts, before (all facts)", every, "tokens", facts=len(texts)
            )
            ids = await store.run(lambda db: [r[0] for r in db.execute("SELECT id FROM facts").fetchall()])
            rows = []
            for fact_id in ids:  # vectors of the model's size; their content does not change the scan's cost
                v = [rng.gauss(0, 1) for _ in range(dim)]
                norm = sum(x * x for x in v) ** 0.5
                rows.append((fact_id, [x / norm for x in v]))
            await store.run(facts_db.set_vectors, "fact", "bench", rows)

            class Fixed:
                model = "bench"

                async def embed(self, batch: Sequence[str]) -> list[list[float]]:
                    return [rows[hash(t) % len(rows)][1] for t in batch]

                async def close(self) -> None:
                    return None

            memory = Recollection(store, Fixed())
            queries = [q for s in SUBJECTS for q in s.questions]
            for q in queries[:20]:  # warm the page cache and the query vector cache
                await memory.search(q, [scope], 8)
            hybrid: list[float] = []
            words: list[float] = []
            for q in queries:
                await memory.query_vector(q)
                started = time.perf_counter()
                await memory.search(q, [scope], 8)
                hybrid.append(1000 * (time.perf_counter() - started))
                started = time.perf_counter()
                await memory.search(q, [scope], 8, by_meaning=False)
                words.append(1000 * (time.perf_counter() - started))
            figure("memory retrieval p50 at 10k facts (hybrid)", pct(hybrid, 50), "ms", dim=dim, queries=len(queries))
            figure("memory retrieval p99 at 10k facts (hybrid)", pct(hybrid, 99), "ms", dim=dim, queries=len(queries))
            figure("memory retrieval p99 at 10k facts (FTS5 alone)", pct(words, 99), "ms", queries=len(queries))
            if embedder is not None:
                spent: list[float] = []
                for q in queries[:12]:
                    started = time.perf_counter()
                    await embedder.embed([q])
                    spent.append(1000 * (time.perf_counter() - started))
                figure(f"query embedding p50 ({label})", pct(spent, 50), "ms", embedder=label)
        finally:
            await store.close()


# -- why did that happen -----------------------------------------------------------------------------

DEVICES = [
    ("porch", "Porch Light", "light"),
    ("door", "Front Door", "lock"),
    ("kitchen", "Kitchen Light", "light"),
    ("lamp", "Desk Lamp", "light"),
    ("garage", "Garage Light", "light"),
    ("heater", "Patio Heater", "switch"),
]
CAUSES = [  # (audit actor, path, channel of the message or "", words said, what the answer must name per language)
    (
        "Sam",
        "fast-path",
        "whatsapp",
        "turn on the {d}",
        {"en": "Sam on WhatsApp", "es": "Sam por WhatsApp", "de": "Sam über WhatsApp", "fr": "Sam via WhatsApp"},
    ),
    (
        "the job 'dusk'",
        "schedule",
        "",
        "",
        {"en": "the job 'dusk'", "es": "la tarea 'dusk'", "de": "der Auftrag 'dusk'", "fr": "la tâche 'dusk'"},
    ),
    (
        "Claude Desktop (MCP)",
        "mcp",
        "",
        "",
        {
            "en": "the agent Claude Desktop (MCP)",
            "es": "el agente Claude Desktop (MCP)",
            "de": "der Agent Claude Desktop (MCP)",
            "fr": "l'agent Claude Desktop (MCP)",
        },
    ),
    (
        "Ana",
        "dashboard",
        "",
        "",
        {
            "en": "Ana on the dashboard",
            "es": "Ana desde el panel",
            "de": "Ana im Dashboard",
            "fr": "Ana depuis le tableau de bord",
        },
    ),
    (
        "the model for Sam",
        "llm",
        "telegram",
        "it's dark outside, do something",
        {
            "en": "me, answering Sam on Telegram",
            "es": "yo, respondiendo a Sam por Telegram",
            "de": "ich, als Antwort an Sam über Telegram",
            "fr": "moi, en réponse à Sam via Telegram",
        },
    ),
    ("", "hand", "", "", {"en": "by hand", "es": "a mano", "de": "von Hand", "fr": "à la main"}),
    (
        "Sam",
        "fast-path",
        "",
        "routine",
        {
            "en": "the routine 'movie night'",
            "es": "la rutina 'movie night'",
            "de": "die Routine 'movie night'",
            "fr": "la routine 'movie night'",
        },
    ),
]
WHY = {
    "en": ["why did the {d} turn on?", "why is the {d} on?", "who turned on the {d}?"],
    "es": ["¿por qué se encendió la {d}?", "¿quién encendió la {d}?"],
    "de": ["warum ist das {d} angegangen?", "warum ist das {d} an?", "wer hat das {d} eingeschaltet?"],
    "fr": ["pourquoi la {d} s'est allumée ?", "qui a allumé la {d} ?"],
}
UNLOCK = {
    "en": "who unlocked the door today?",
    "es": "¿quién abrió la puerta hoy?",
    "de": "wer hat heute die Tür aufgeschlossen?",
    "fr": "qui a déverrouillé la porte aujourd'hui ?",
}


async def why_figures() -> None:
    """Each device's last change has a known cause; every question must name it, in its language, with no model."""
    with tempfile.TemporaryDirectory(prefix="claw-why-") as folder:
        store = Store(Path(folder) / "claw.db")
        await store.open()
        try:
            timeline = Timeline(store)
            answers = TimelineAnswers(timeline)
            vocabulary = Vocabulary(
                entities=tuple(Entity(i, n, kind="light" if k == "light" else k) for i, n, k in DEVICES)
            )
            grammar = Understanding(vocabulary, LANGS)
            registry = {i: Device(id=i, name=n, kind=k, driver="bench", address="127.0.0.1") for i, n, k in DEVICES}
            now = time.time()
            expected: dict[str, dict[str, str]] = {}
            lights = [d for d in DEVICES if d[2] != "lock"]
            for n, (device_id, name, _) in enumerate(lights):
                actor, path, channel, said, names = CAUSES[n % len(CAUSES)]
                ts = now - 3600 + n * 60
                await _cause(store, name, "turn on", actor, path, channel, said.format(d=name.lower()), ts)
                expected[device_id] = names
            unlocker = CAUSES[0]
            await _cause(
                store,
                "Front Door",
                "locked=False",
                unlocker[0],
                unlocker[1],
                unlocker[2],
                "unlock the front door",
                now - 600,
            )
            asked, right, spent = 0, 0, []
            misses: list[str] = []
            for device_id, name, _ in lights:
                for lang, forms in WHY.items():
                    for form in forms:
                        text = form.format(d=name if lang != "en" else name.lower())
                        ok, reply, ms = await _ask(grammar, answers, registry, text, expected[device_id][lang])
                        asked, right = asked + 1, right + ok
                        spent.append(ms)
                        if not ok:
                            misses.append(f"{text} -> {reply}")
            for lang, text in UNLOCK.items():
                ok, reply, ms = await _ask(grammar, answers, registry, text, CAUSES[0][4][lang])
                asked, right = asked + 1, right + ok
                spent.append(ms)
                if not ok:
                    misses.append(f"{text} -> {reply}")
            figure(
                "why questions answered from the timeline without a model",
                100 * right / asked,
                "%",
                questions=asked,
                correct=right,
                languages=list(LANGS),
                misses=misses[:5],
            )
            figure("why answer p50", pct(spent, 50), "ms", questions=asked)
        finally:
            await store.close()


async def _cause(
    store: Store, name: str, action: str, actor: str, path: str, channel: str, said: str, ts: float
) -> None:
    from claw.core.store import timeline as timeline_db

    if path == "hand":
        await store.run(timeline_db.record_change, name.lower(), name, "on", ts)
        return
    message = 0
    if said and said != "routine":
        [message] = await store.run(
            log_db.append, "owner:sam", [Message("user", said, channel=channel, sender=actor, ts=ts)]
        )
    rows = [AuditEntry(actor, path, action, name, ts=ts, message=message)]
    if said == "routine":
        rows.append(AuditEntry(actor, path, "routine movie night", "", ts=ts + 0.5))
    await store.run(write_many, rows)


async def _ask(
    grammar: Understanding, answers: TimelineAnswers, registry: dict[str, Device], text: str, wanted: str
) -> tuple[bool, str, float]:
    started = time.perf_counter()
    outcome = grammar.understand(text)
    reply = f"(not understood: {outcome})"
    if isinstance(outcome, Understood):
        devices = [registry[i] for i in outcome.targets if i in registry]
        handler = {"why": answers.why, "who": answers.who}.get(outcome.action)
        if handler is not None:
            reply = await handler(outcome, devices, Request(conversation="owner:sam"))
    return wanted in reply, reply, 1000 * (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-real", action="store_true", help="skip the real small model even where it is set up")
    parser.add_argument("--real-only", action="store_true", help="only the real models' figures")
    parser.add_argument(
        "--qwen-embeddings", action="store_true", help="also the chat model's mean-pooled vectors (a weak baseline)"
    )
    args = parser.parse_args()
    if not args.real_only:
        await recall_figures(None, "none")
        await recall_figures(ScriptedEmbedder(), "scripted lexicon stand-in")
        await latency_figures(None, "none", 896)
        await why_figures()
    if args.no_real:
        return
    from tests.real_llm import start_server, stop_server
    from tests.real_llm_setup import MINILM, QWEN, USE_DIR, embedding_unavailable, unavailable, use_unavailable

    asked: list[Asked] = []
    retriever = ""
    real = (  # (model, alias, how the server is started, label, its dimension, why it cannot run here)
        (MINILM, "all-minilm-l6-v2", {"pooled_embedding": True}, MINILM_LABEL, 384, embedding_unavailable()),
        (USE_DIR, "use-multilingual-v3", {"use": True}, USE_LABEL, 512, use_unavailable()),
    )
    for model, alias, how, label, dim, reason in real:
        if reason:
            figure(f"memory recall with a real embedding model ({label})", float("nan"), "%", skipped=reason)
            continue
        with tempfile.TemporaryDirectory(prefix="claw-embed-") as folder:
            server, process = start_server(model, alias, Path(folder) / "server.log", n_ctx=512, **how)
            embedder = OpenAIEmbedder(LLMConfig(api="openai", base_url=server.base_url), server.model)
            try:
                await latency_figures(embedder, label, dim)
                keep: list[Asked] = []
                await recall_figures(embedder, label, keep)  # closes the embedder
                if alias == "use-multilingual-v3" or not asked:  # the chat model reads the best retriever's facts
                    asked, retriever = keep, label
            finally:
                await embedder.close()
                stop_server(process)
    if args.qwen_embeddings and unavailable() is None:  # the chat model's mean-pooled vectors, for comparison
        with tempfile.TemporaryDirectory(prefix="claw-embed-") as folder:
            server, process = start_server(QWEN, "qwen-embed", Path(folder) / "server.log", n_ctx=512, embedding=True)
            embedder = OpenAIEmbedder(LLMConfig(api="openai", base_url=server.base_url), server.model)
            try:
                await recall_figures(embedder, "Qwen2.5-Coder 0.5B GGUF (a chat model), mean of token vectors")
            finally:
                await embedder.close()
                stop_server(process)
    reason = unavailable()
    if reason or not asked:
        figure("answer accuracy, real small model", float("nan"), "%", skipped=reason or "no real embedding model")
        return
    with tempfile.TemporaryDirectory(prefix="claw-answer-") as folder:
        server, process = start_server(QWEN, "qwen-chat", Path(folder) / "server.log", n_ctx=2048)
        try:
            await answer_figures(server.base_url, "qwen-chat", asked, retriever)
        finally:
            stop_server(process)


ANSWER = (
    "Answer the question in one short sentence, in the question's language, using only these remembered facts. "
    "If they do not say, answer: I don't know.\nRemembered facts:\n{facts}"
)


async def answer_figures(base_url: str, model: str, asked: Sequence[Asked], retriever: str) -> None:
    """The real small chat model answers 50 questions from what memory put in its prompt, then from the right
    fact alone (what the model can read when retrieval is perfect): correct = the answer holds the fact's value."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=120)
    try:
        for name, oracle in (("retrieved facts", False), ("the right fact alone", True)):
            right, spent = 0, []
            for a in asked:
                facts = [a.fact] if oracle else list(a.facts)
                started = time.perf_counter()
                reply = await client.chat.completions.create(
                    model=model,
                    messages=[
                        {
                            "role": "system",
                            "content": ANSWER.format(facts="\n".join(f"- {f}" for f in facts) or "(none)"),
                        },
                        {"role": "user", "content": a.text},
                    ],
                    max_tokens=60,
                    temperature=0,
                )
                spent.append(time.perf_counter() - started)
                said = reply.choices[0].message.content or ""
                right += _holds(said, a.value)
            figure(
                f"answer accuracy, real small model, {name}",
                100 * right / max(len(asked), 1),
                "%",
                questions=len(asked),
                model="Qwen2.5-Coder 0.5B Instruct GGUF (llama.cpp)",
                retrieved_by=retriever,
                seconds_p50=round(pct(spent, 50), 2),
            )
    finally:
        await client.close()


def _holds(said: str, value: str) -> bool:
    """The answer carries the value: its words (or digits) appear, accents and case aside."""
    from claw.core.store.terms import fold

    answer = fold(said)
    wanted = [w for w in fold(value).replace(",", " ").split() if len(w) > 2 or w.isdigit()]
    return bool(wanted) and sum(w in answer for w in wanted) >= max(1, (len(wanted) + 1) // 2)


if __name__ == "__main__":
    asyncio.run(main())
