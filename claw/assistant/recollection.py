"""The household's memory as a service: facts stored with provenance and vectors, found by words and meaning."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from claw.assistant.embedder import Embedder
from claw.core.errors import ModelUnavailable
from claw.core.store import Store
from claw.core.store import facts as facts_db
from claw.core.store import messages as log_db
from claw.core.store.facts import Fact, FactKind
from claw.core.store.messages import Message

log = logging.getLogger(__name__)
QUERY_SECONDS = 5.0  # the longest a turn waits for its query's vector


@dataclass(frozen=True, slots=True)
class Fusion:
    """Reciprocal-rank fusion: score = Σ weight / (k + rank) over the legs that found a fact.

    Tuned on bench/memory_recall.py (see the README): the vector leg finds paraphrases, the keyword leg
    exact names and codes; a far vector hit (cosine distance over `max_distance`) does not count.
    """

    k: float = 5.0  # no k, weight or distance in the benchmark's grid beats these on its held-out homes
    keyword_weight: float = 1.0
    vector_weight: float = 1.0
    max_distance: float = 1.0  # cosine distance; 1.0 keeps every vector with a positive similarity
    depth: int = 30  # candidates taken from each leg


@dataclass(frozen=True, slots=True)
class Found:
    """A fact found for a query, with its fused score and where each leg ranked it (0: not found by it)."""

    fact: Fact
    score: float
    keyword_rank: int = 0
    vector_rank: int = 0


class Recollection:
    """Writes facts (embedding them as they are written) and finds them by hybrid search; never raises for a
    model that is down: recall then uses words only and the missing vectors are filled in later."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder | None,
        fusion: Fusion = Fusion(),
        *,
        query_seconds: float = QUERY_SECONDS,
    ) -> None:
        self.store, self.embedder, self.fusion = store, embedder, fusion
        self.query_seconds = query_seconds  # the longest a turn waits for its query's vector
        self._queries: OrderedDict[str, list[float]] = OrderedDict()  # recent query vectors
        self._warned = False

    @property
    def by_meaning(self) -> bool:
        """Vectors are in use: an embedding model is configured and sqlite-vec is loaded."""
        return self.embedder is not None and not self.store.vectors_missing

    def mode(self) -> str:
        """How recall works now, in words (`claw doctor`, /api/memory)."""
        if self.embedder is None:
            return "words only (FTS5): no [memory] embed_model is set"
        if self.store.vectors_missing:
            return f"words only (FTS5): {self.store.vectors_missing}"
        return f"hybrid: words (FTS5) and meaning ({self.embedder.model}, sqlite-vec)"

    # -- writing ----------------------------------------------------------------------------------

    async def remember(
        self,
        text: str,
        *,
        scope: str,
        author: str,
        source: str,
        message: int = 0,
        kind: FactKind = "fact",
        replaces: int | None = None,
    ) -> Fact:
        """Store a fact with who said it, where and in which message; embed it now if the model answers."""
        fact = await self.store.run(
            facts_db.remember,
            text,
            scope=scope,
            author=author,
            source=source,
            message=message,
            kind=kind,
            replaces=replaces,
        )
        await self._embed_facts([fact])
        return fact

    async def correct(self, fact_id: int, text: str, *, author: str, source: str) -> Fact | None:
        """Replace a fact's text: a new fact supersedes the old (kept as history); None if it does not hold."""
        fact = await self.store.run(facts_db.edit, fact_id, text, author=author, source=source)
        if fact is not None:
            await self._embed_facts([fact])
        return fact

    async def forget(self, fact_id: int) -> Fact | None:
        return await self.store.run(facts_db.forget_id, fact_id)

    async def undo(self, fact_id: int) -> Fact | None:
        """Bring back a forgotten or corrected fact (see facts.undo)."""
        fact = await self.store.run(facts_db.undo, fact_id)
        if fact is not None:
            await self._embed_facts([fact])
        return fact

    async def backfill(self, limit: int = 256) -> int:
        """Embed the current facts that have no vector yet; returns how many were embedded."""
        if not self.by_meaning or self.embedder is None:
            return 0
        missing = await self.store.run(facts_db.without_vectors, self.embedder.model, limit)
        return await self._embed_facts(missing)

    async def embed_messages(self, messages: Sequence[Message]) -> int:
        """Embed compacted turns (owner's and Claw's words), so old conversation stays findable by meaning."""
        said = [m for m in messages if m.role in ("user", "assistant") and m.content.strip() and m.id]
        vectors = await self._vectors([m.content[:2000] for m in said])
        if vectors is None or self.embedder is None:
            return 0
        rows = [(m.id, v) for m, v in zip(said, vectors, strict=True)]
        await self.store.run(facts_db.set_vectors, "message", self.embedder.model, rows)
        return len(rows)

    async def _embed_facts(self, facts: Sequence[Fact]) -> int:
        if not facts:
            return 0
        vectors = await self._vectors([f.text for f in facts])
        if vectors is None or self.embedder is None:
            return 0
        rows = [(f.id, v) for f, v in zip(facts, vectors, strict=True)]
        await self.store.run(facts_db.set_vectors, "fact", self.embedder.model, rows)
        return len(rows)

    async def _vectors(self, texts: Sequence[str]) -> list[list[float]] | None:
        if not texts or not self.by_meaning or self.embedder is None:
            return None
        try:
            vectors = await self.embedder.embed(texts)
        except ModelUnavailable as exc:
            if not self._warned:  # once per outage; the facts are embedded by the next backfill
                log.warning("memory: %s; recall uses words only until it is back", exc)
                self._warned = True
            return None
        self._warned = False
        return vectors

    # -- finding ----------------------------------------------------------------------------------

    async def search(self, query: str, scopes: list[str], limit: int = 8, *, by_meaning: bool = True) -> list[Found]:
        """The current facts best matching query: keyword and vector rankings fused; words only without vectors."""
        depth = max(self.fusion.depth, limit)
        vector = await self.query_vector(query) if by_meaning else None
        model = self.embedder.model if self.embedder is not None else ""
        keyword, nearest = await self.store.run(facts_db.ranks, query, vector, model, scopes, depth)
        ranked = fuse(keyword, nearest, self.fusion)
        chosen = ranked[:limit]
        found = await self.store.run(facts_db.by_ids, [fact_id for fact_id, *_ in chosen])
        return [Found(found[i], score, kr, vr) for i, score, kr, vr in chosen if i in found]

    async def search_messages(self, query: str, conversation: str, limit: int = 6) -> list[Message]:
        """Past turns of a conversation by words, then by meaning (compacted turns have vectors)."""
        said = await self.store.run(log_db.search, query, conversation=conversation, limit=limit)
        vector = await self.query_vector(query)
        if vector is None or self.embedder is None or len(said) >= limit:
            return said
        near = await self.store.run(facts_db.message_ranks, vector, self.embedder.model, conversation, limit)
        ids = [i for i, d in near if d <= self.fusion.max_distance and i not in {m.id for m in said}]
        more = await self.store.run(facts_db.messages_by_ids, ids) if ids else []
        return [*said, *more][:limit]

    async def query_vector(self, query: str) -> list[float] | None:
        """The query's vector (the last few hundred are kept: people ask alike), or None without vectors."""
        cached = self._queries.get(query)
        if cached is not None:
            self._queries.move_to_end(query)
            return cached
        try:
            async with asyncio.timeout(self.query_seconds):  # a reply waits: a slow server costs meaning, not time
                vectors = await self._vectors([query])
        except TimeoutError:
            log.warning(
                "memory: the embedding model took over %.0f s for a query; it searches words only", self.query_seconds
            )
            return None
        if not vectors:
            return None
        self._queries[query] = vectors[0]
        if len(self._queries) > 512:
            self._queries.popitem(last=False)
        return vectors[0]

    async def close(self) -> None:
        if self.embedder is not None:
            await self.embedder.close()


def fuse(
    keyword: Sequence[int], nearest: Sequence[tuple[int, float]], fusion: Fusion
) -> list[tuple[int, float, int, int]]:
    """(fact id, score, keyword rank, vector rank), best first; ranks start at 1, 0 means "not found by it"."""
    scores: dict[int, float] = {}
    keyword_rank: dict[int, int] = {}
    vector_rank: dict[int, int] = {}
    for rank, fact_id in enumerate(keyword, start=1):
        keyword_rank[fact_id] = rank
        scores[fact_id] = scores.get(fact_id, 0.0) + fusion.keyword_weight / (fusion.k + rank)
    for rank, (fact_id, distance) in enumerate(nearest, start=1):
        if distance > fusion.max_distance:
            break  # nearest first: the rest are farther still
        vector_rank[fact_id] = rank
        scores[fact_id] = scores.get(fact_id, 0.0) + fusion.vector_weight / (fusion.k + rank)
    ordered = sorted(scores, key=lambda i: (-scores[i], i))
    return [(i, round(scores[i], 6), keyword_rank.get(i, 0), vector_rank.get(i, 0)) for i in ordered]
