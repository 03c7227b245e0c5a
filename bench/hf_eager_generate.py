#!/usr/bin/env python3
"""The Python-eager baseline of rollout_bench: generation from a Hugging Face Qwen2/Llama model
directory with plain PyTorch, written the way transformers' eager path works (per layer: RMSNorm,
q/k/v projections, rotary embedding, a KV cache grown with torch.cat, GQA by repeating key/value
heads, softmax attention, SwiGLU MLP; then top-p sampling of the last position's logits). Benchmark
only: r1 never runs Python.

  python3 bench/hf_eager_generate.py MODEL_DIR --batch B --prompt-tokens P --new-tokens N
          [--threads T] [--top-p 0.9] [--seed 0]

Prints one JSON line: {"batch": B, "tokens": generated, "seconds": s, "tokens_per_s": ...}.
The model directory needs config.json and model.safetensors (read here without the safetensors
package, which Debian does not ship).
"""
import argparse
import json
import math
import os
import struct
import time

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        tensors[name] = t.float()
    return tensors


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class EagerModel:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        self.c = c
        self.w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.eps = c.get("rms_norm_eps", 1e-6)
        theta = c.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def linear(self, x, name, bias=True):
        y = x @ self.w[name + ".weight"].t()
        b = self.w.get(name + ".bias") if bias else None
        return y + b if b is not None else y

    def forward(self, ids, positions, cache):
        """ids, positions: [B, T]; cache: list of (k, v) per layer or None. Returns logits [B, V]
        of the last position and the new cache."""
        x = self.w["model.embed_tokens.weight"][ids]
        b, t, _ = x.shape
        freqs = positions[..., None].float() * self.inv_freq  # [B, T, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # [B, 1, T, D]
        new_cache = []
        for i in range(self.layers):
            p = f"model.layers.{i}."
            h = rms_norm(x, self.w[p + "input_layernorm.weight"], self.eps)
            q = self.linear(h, p + "self_attn.q_proj").view(b, t, self.heads, self.head_dim).transpose(1, 2)
            k = self.linear(h, p + "self_attn.k_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.linear(h, p + "self_attn.v_proj").view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            new_cache.append((k, v))
            rep = self.heads // self.kv_heads
            kr = k.repeat_interleave(rep, dim=1)
            vr = v.repeat_interleave(rep, dim=1)
            scores = (q @ kr.transpose(2, 3)) / math.sqrt(self.head_dim)
            s = kr.shape[2]
            if t > 1:
                causal = torch.ones(t, s, dtype=torch.bool).tril(s - t)
                scores = scores.masked_fill(~causal, torch.finfo(scores.dtype).min)
            attn = torch.softmax(scores, dim=-1) @ vr
            x = x + self.linear(attn.transpose(1, 2).reshape(b, t, -1), p + "self_attn.o_proj")
            h = rms_norm(x, self.w[p + "post_attention_layernorm.weight"], self.eps)
            mlp = torch.nn.functional.silu(self.linear(h, p + "mlp.gate_proj", False)) * \
                self.linear(h, p + "mlp.up_proj", False)
            x = x + self.linear(mlp, p + "mlp.down_proj", False)
        x = rms_norm(x[:, -1], self.w["model.norm.weight"], self.eps)
        return x @ self.lm_head.t(), new_cache


def sample_top_p(logits, top_p, generator):
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    cum = sorted_probs.cumsum(-1)
    sorted_probs = sorted_probs.masked_fill(cum - sorted_probs > top_p, 0.0)
    pick = torch.multinomial(sorted_probs / sorted_probs.sum(-1, keepdim=True), 1, generator=generator)
    return order.gather(-1, pick)  # [B, 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top-p", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = EagerModel(args.model_dir)
    g = torch.Generator().manual_seed(args.seed)
    vocab = model.lm_head.shape[0]
    ids = torch.randint(0, vocab, (args.batch, args.prompt_tokens), generator=g)
    with torch.no_grad():
        model.forward(ids[:, :4], torch.arange(4).expand(args.batch, 4), None)  # warm-up
        start = time.perf_counter()
        positions = torch.arange(args.prompt_tokens).expand(args.batch, -1)
        logits, cache = model.forward(ids, positions, None)
        generated = 0
        for step in range(args.new_tokens):
            token = sample_top_p(logits, args.top_p, g)
            generated += args.batch
            if step + 1 == args.new_tokens:
                break
            pos = torch.full((args.batch, 1), args.prompt_tokens + step)
            logits, cache = model.forward(token, pos, cache)
        seconds = time.perf_counter() - start
    print(json.dumps({"batch": args.batch, "tokens": generated, "seconds": seconds,
                      "tokens_per_s": generated / seconds}))


if __name__ == "__main__":
    main()
