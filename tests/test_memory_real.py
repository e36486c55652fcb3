"""Memory with real embedding servers (each test skips, saying why, where tests/real_llm_setup.py could not set
its model up): the plumbing with a chat GGUF's pooled vectors (their quality is not asserted: the model is not
an embedding model), and recall by meaning with real sentence-embedding models — all-MiniLM-L6-v2 on
llama.cpp's own server with `--embedding`, and a multilingual encoder behind the same /v1/embeddings API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from claw.assistant.embedder import embedder_for
from claw.assistant.recollection import QUERY_SECONDS, Recollection
from claw.core.config import Config, LLMConfig
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.daemon import build
from tests.memory_cases import LANGS, SUBJECTS
from tests.real_llm import LlamaServer  # the fixtures come from the tests.real_llm plugin: one server per model

H = facts_db.HOUSEHOLD


@contextlib.asynccontextmanager
async def recollection(
    tmp_path: Path, server: LlamaServer, query_seconds: float = QUERY_SECONDS
) -> AsyncIterator[Recollection]:
    """Memory in a fresh store under tmp_path, its vectors from `server`'s model; closed when the block ends."""
    config = LLMConfig(api="openai", base_url=server.base_url, model=server.model)
    store = Store(tmp_path / "claw.db")
    await store.open()
    memory = Recollection(store, embedder_for(config, server.model), query_seconds=query_seconds)
    try:
        yield memory
    finally:
        await memory.close()
        await store.close()


async def test_real_vectors_are_stored_and_searched(tmp_path: Path, embedding_server: LlamaServer) -> None:
    async with recollection(tmp_path, embedding_server) as memory:
        store = memory.store
        assert "hybrid" in memory.mode()
        wifi = await memory.remember("The guest wifi is called Lemonade", scope=H, author="Sam", source="chat")
        await memory.remember("The bins go out on Tuesday", scope=H, author="Sam", source="chat")
        assert await store.run(facts_db.without_vectors, embedding_server.model) == []
        dims = await store.run(lambda db: db.execute("SELECT length(vector) / 4 FROM vector_floats").fetchall())
        assert {d[0] for d in dims} == {896}  # Qwen2.5 0.5B's hidden size, pooled from its token vectors
        found = await memory.search("Lemonade", [H])
        assert found[0].fact.id == wifi.id and found[0].keyword_rank == 1 and found[0].vector_rank > 0


async def test_nothing_is_lost_when_the_real_model_flushes_memory(
    qwen_server: LlamaServer,
    make_config: Callable[..., Config],
) -> None:
    """Compaction with a real 0.5B model's flush and summary: every fact the owner stated stays findable —
    as an extracted fact, or in the compacted turns, which recall still searches."""
    app = build(make_config(llm=qwen_server.llm_config(timeout=120.0), memory={"budget_tokens": 2000}), parts=())
    await app.start()
    try:
        said = {
            "wifi": "remember that the guest wifi is called Lemonade",
            "bins": "remember that the bins go out on Tuesday",
            "dentist": "remember that our dentist is Dr Okafor",
        }
        me = app.local.conversation
        for text in said.values():
            await app.store.run(log_db.append, me, [Message("user", text, sender="Sam", channel="local")])
            await app.store.run(log_db.append, me, [Message("assistant", "Noted.", sender="claw", channel="local")])
        await app.store.run(log_db.append, me, [Message("user", "thanks", sender="Sam", channel="local")])
        await app.memory.compact(me, keep_share=0.0)
        _, upto = await app.store.run(facts_db.summary, me)
        assert upto > 0  # the turns were folded away (summarised, or archived if the model failed)
        for word in ("Lemonade", "Tuesday", "Okafor"):
            facts = await app.recollection.search(word, [H, me])
            turns = await app.recollection.search_messages(word, me)
            assert facts or turns, f"{word} was lost in compaction"
    finally:
        await app.stop()


# -- recall by meaning with real sentence-embedding models ------------------------------------------------------

# ten things a household says, each asked later in words it never used (tests/memory_cases.py, the benchmark's)
SAID = SUBJECTS[:10]


async def _recall_by_meaning(tmp_path: Path, server: LlamaServer, language: str) -> tuple[int, int, int]:
    """Remember SAID's facts (English, home 0's values), ask each question in `language`: (found in the top 3
    by hybrid recall, found in the top 3 by words alone, how many asked)."""
    async with recollection(tmp_path, server, query_seconds=60.0) as memory:
        ids = []
        for subject in SAID:
            fact = subject.fact.format(x=subject.values[0])
            ids.append((await memory.remember(fact, scope=H, author="Sam", source="chat")).id)
        assert await memory.store.run(facts_db.without_vectors, server.model) == []
        by_meaning = by_words = 0
        for subject, fact_id in zip(SAID, ids, strict=True):
            question = subject.questions[LANGS.index(language)]
            by_meaning += fact_id in [f.fact.id for f in await memory.search(question, [H], 3)]
            by_words += fact_id in [f.fact.id for f in await memory.search(question, [H], 3, by_meaning=False)]
        return by_meaning, by_words, len(SAID)


async def test_a_paraphrased_question_finds_its_fact_through_llama_cpps_embedding_server(
    tmp_path: Path, minilm_server: LlamaServer
) -> None:
    """all-MiniLM-L6-v2 on llama.cpp's own server (`--embedding`): "what network should visitors join?" finds
    "The guest wifi is called Lemonade", which shares no word with it."""
    by_meaning, by_words, asked = await _recall_by_meaning(tmp_path, minilm_server, "en")
    assert by_meaning >= 8, f"{by_meaning} of {asked} paraphrased questions found their fact"
    assert by_words <= 3  # the questions share (almost) no word with their facts: meaning did the finding


async def test_a_question_in_another_language_finds_a_fact_stated_in_english(
    tmp_path: Path, use_server: LlamaServer
) -> None:
    """A multilingual encoder behind /v1/embeddings: Spanish, German and French questions find English facts."""
    for language in ("es", "de", "fr"):
        by_meaning, by_words, asked = await _recall_by_meaning(tmp_path / language, use_server, language)
        assert by_meaning >= 8, f"{language}: {by_meaning} of {asked} questions found their fact"
        assert by_words <= 3


async def test_a_superseded_fact_is_never_recalled_by_meaning(tmp_path: Path, minilm_server: LlamaServer) -> None:
    """ "We moved the spare key": the old place stays as history, and meaning alone never brings it back."""
    async with recollection(tmp_path, minilm_server) as memory:
        old = await memory.remember("The spare key is under the blue pot", scope=H, author="Sam", source="chat")
        new = await memory.remember(
            "The spare key is in the shed", scope=H, author="Sam", source="chat", replaces=old.id
        )
        found = [f.fact.id for f in await memory.search("where can I find the extra key?", [H])]
        assert found and found[0] == new.id and old.id not in found
