"""A sentence-transformers BERT model (safetensors) as a GGUF that llama.cpp serves with `--embedding`.

`python -m tests.bert_gguf MODEL_DIR OUT.gguf` with the `gguf` package importable (tests/real_llm_setup.py
installs it into a temporary folder). numpy only — no torch: the same metadata, vocabulary ("phantom
space" WordPiece) and tensor names as llama.cpp's convert_hf_to_gguf.py `BertModel`, matrices as F16 and
norms and biases as F32 (its default), and the pooling the sentence-transformers config names (mean for
all-MiniLM-L6-v2), so that the server answers one pooled vector per input. `reference()` is the same
network in plain numpy, which the set-up compares with the server's vectors.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: Path) -> dict[str, Array]:
    """The float tensors of a .safetensors file as float32 (header: 8-byte length, JSON, then raw little-endian)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header: dict[str, Any] = json.loads(raw[8 : 8 + size])
    body = memoryview(raw)[8 + size :]
    out: dict[str, Array] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        begin, end = meta["data_offsets"]
        dtype = DTYPES.get(meta["dtype"])
        if dtype is None:
            raise ValueError(f"{name}: dtype {meta['dtype']} is not handled")
        data = np.frombuffer(body[begin:end], dtype=dtype).reshape(meta["shape"])
        if data.dtype.kind == "f":  # integer tensors (BERT's position_ids) are dropped by the caller
            out[name] = data.astype(np.float32)
    return out


def _tensors(model_dir: Path) -> dict[str, Array]:
    """BertModel's tensor names, as convert_hf_to_gguf's BertModel.filter_tensors leaves them."""
    out: dict[str, Array] = {}
    for stored, data in load_safetensors(model_dir / "model.safetensors").items():
        name = stored.removeprefix("bert.")
        if name.endswith(".gamma"):
            name = name[: -len(".gamma")] + ".weight"
        if name.endswith(".beta"):
            name = name[: -len(".beta")] + ".bias"
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue  # only embeddings are served: no pooler head
        if name.startswith("cls."):
            continue
        out[name] = data
    return out


def _pooling(model_dir: Path) -> str:
    """The pooling that sentence-transformers' modules.json and 1_Pooling/config.json name."""
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    for module in modules:
        if module["type"].endswith(".Pooling"):
            config = json.loads((model_dir / module["path"] / "config.json").read_text(encoding="utf-8"))
            for mode in ("mean", "cls", "max", "last"):
                if config.get(f"pooling_mode_{mode}_tokens") or config.get(f"pooling_mode_{mode}_token"):
                    return mode
    raise ValueError(f"{model_dir}: no pooling named in modules.json")


def convert(model_dir: Path, out: Path) -> None:
    """Write the GGUF (llama.cpp architecture "bert")."""
    import gguf  # type: ignore[import-not-found]  # the set-up installs it into a temporary folder, for this alone

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    if config.get("architectures") != ["BertModel"] or tokenizer["model"]["type"] != "WordPiece":
        raise ValueError(f"{model_dir}: not a BertModel with a WordPiece tokenizer")
    pooling = {"mean": gguf.PoolingType.MEAN, "cls": gguf.PoolingType.CLS}[_pooling(model_dir)]

    writer = gguf.GGUFWriter(str(out), "bert")
    writer.add_name(model_dir.name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)

    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("the WordPiece vocabulary has gaps")
    special = {t["content"] for t in tokenizer.get("added_tokens", []) if t.get("special")}
    tokens, types = [], []
    for token, _ in by_id:
        control = token in special
        types.append(gguf.TokenType.CONTROL if control else gguf.TokenType.NORMAL)
        # llama.cpp's WPM tokenizer wants a word's first piece marked with ▁ and its continuations bare
        tokens.append(token if control else token[2:] if token.startswith("##") else "\u2581" + token)
    writer.add_token_type_count(config.get("type_vocab_size", 1))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config["num_hidden_layers"])
    for name, data in _tensors(model_dir).items():
        mapped = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise ValueError(f"no GGUF name for the tensor {name}")
        # matrices in half precision; vectors (norms, biases) and token_types (added, not multiplied, and
        # llama.cpp's CPU add wants F32) in full, as the reference converter does
        half = data.ndim == 2 and mapped != "token_types.weight"
        writer.add_tensor(mapped, data.astype(np.float16) if half else data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def reference(model_dir: Path, token_ids: list[int]) -> Array:
    """The model's mean-pooled, L2-normalised sentence vector for these token ids, in plain numpy (float32)."""
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    w = _tensors(model_dir)
    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])

    def norm(x: Array, prefix: str) -> Array:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]

    def dense(x: Array, prefix: str) -> Array:
        return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]

    def gelu(x: Array) -> Array:
        from math import erf, sqrt

        return (0.5 * x * (1.0 + np.vectorize(erf)(x / sqrt(2.0)))).astype(np.float32)

    n = len(token_ids)
    x = w["embeddings.word_embeddings.weight"][token_ids]
    x = x + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
    x = norm(x, "embeddings.LayerNorm")
    for layer in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{layer}"
        q, k, v = (dense(x, f"{p}.attention.self.{m}") for m in ("query", "key", "value"))
        d = q.shape[-1] // heads
        q, k, v = (t.reshape(n, heads, d).transpose(1, 0, 2) for t in (q, k, v))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attended = (scores / scores.sum(-1, keepdims=True)) @ v
        x = norm(x + dense(attended.transpose(1, 0, 2).reshape(n, -1), f"{p}.attention.output.dense"),
                 f"{p}.attention.output.LayerNorm")  # fmt: skip
        x = norm(x + dense(gelu(dense(x, f"{p}.intermediate.dense")), f"{p}.output.dense"), f"{p}.output.LayerNorm")
    pooled = x.mean(0)
    return (pooled / np.linalg.norm(pooled)).astype(np.float32)


CHECKED = (  # a fact, its paraphrase, another language's question: the tokenizer's and the network's paths
    "The network for visitors is called Lemonade, code 4242.",
    "what's the guest wifi password?",
    "¿Cuál es la contraseña del wifi de invitados?",
)


def check(model_dir: Path, gguf_file: Path) -> float:
    """The lowest cosine between llama.cpp's vector and the numpy reference over CHECKED (1.0: the same)."""
    import llama_cpp

    model = llama_cpp.Llama(model_path=str(gguf_file), embedding=True, n_ctx=512, n_threads=2, verbose=False)
    try:
        lowest = 1.0
        for text in CHECKED:
            served = np.asarray(model.embed(text), dtype=np.float32)
            ids = model.tokenize(text.encode(), add_bos=True, special=False)
            lowest = min(lowest, float(served @ reference(model_dir, ids) / np.linalg.norm(served)))
        return lowest
    finally:
        model.close()


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python -m tests.bert_gguf MODEL_DIR OUT.gguf", file=sys.stderr)
        return 2
    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    convert(model_dir, out)
    cosine = check(model_dir, out)
    print(f"llama.cpp vs numpy reference: lowest cosine {cosine:.6f} over {len(CHECKED)} sentences")
    return 0 if cosine > 0.999 else 1  # F16 matrices cost ~1e-6; a wrong tensor or tokenizer costs far more


if __name__ == "__main__":
    sys.exit(main())
