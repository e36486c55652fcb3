"""Memory with a real embedding server: llama.cpp's /v1/embeddings on a real small GGUF (skips, saying why,
where tests/real_llm_setup.py could not set it up). Checks the plumbing with real output — vectors of the
model's size stored, searched and fused — not the quality of a 0.5B chat model's embeddings (that figure is
bench/memory_recall.py's, and it is low: the model is not an embedding model)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from claw.assistant.embedder import embedder_for
from claw.assistant.recollection import Recollection
from claw.core.config import Config, LLMConfig
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.messages import Message
from claw.daemon import build
from tests.real_llm import LlamaServer  # the fixtures come from the tests.real_llm plugin: one server per model

H = facts_db.HOUSEHOLD


async def test_real_vectors_are_stored_and_searched(tmp_path: Path, embedding_server: LlamaServer) -> None:
    config = LLMConfig(api="openai", base_url=embedding_server.base_url, model=embedding_server.model)
    store = Store(tmp_path / "claw.db")
    await store.open()
    memory = Recollection(store, embedder_for(config, embedding_server.model))
    try:
        assert "hybrid" in memory.mode()
        wifi = await memory.remember("The guest wifi is called Lemonade", scope=H, author="Sam", source="chat")
        await memory.remember("The bins go out on Tuesday", scope=H, author="Sam", source="chat")
        assert await store.run(facts_db.without_vectors, embedding_server.model) == []
        dims = await store.run(lambda db: db.execute("SELECT length(vector) / 4 FROM vector_floats").fetchall())
        assert {d[0] for d in dims} == {896}  # Qwen2.5 0.5B's hidden size, pooled from its token vectors
        found = await memory.search("Lemonade", [H])
        assert found[0].fact.id == wifi.id and found[0].keyword_rank == 1 and found[0].vector_rank > 0
    finally:
        await memory.close()
        await store.close()


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
