"""A small llama model in PyTorch, written to match the engine's forward pass exactly.

  x = tok_embeddings[tokens]
  for each layer:  h = x + Attn(RMSNorm(x));  x = h + FFN(RMSNorm(h))
  logits = output(RMSNorm(x))          (output.weight is separate, not tied)

RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, eps = 1e-5.
Attention: grouped-query (n_kv_heads divides n_heads), no biases, RoPE with
INTERLEAVED pairs (2j, 2j+1) rotated by pos * base^(-2j/head_dim) -- Meta's
original llama / llama2.c convention, the one GGUF arch=llama stores (not HF's
rotate-half), causal softmax with scale 1/sqrt(head_dim).
FFN: SwiGLU  w2(silu(w1 x) * w3 x);  GGUF: ffn_gate = w1, ffn_up = w3, ffn_down = w2.
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelArgs:
    dim: int = 256
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 4
    hidden_dim: int = 688
    vocab_size: int = 4096
    max_seq_len: int = 512
    norm_eps: float = 1e-5
    rope_base: float = 10000.0
    dropout: float = 0.0

    @property
    def head_dim(self):
        return self.dim // self.n_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, seq_len, base, dtype=torch.float32, device=None):
    """cos/sin tables of shape (seq_len, head_dim/2); angle = pos * base^(-2j/head_dim)."""
    j = torch.arange(0, head_dim, 2, dtype=torch.float64, device=device)
    inv_freq = base ** (-j / head_dim)
    pos = torch.arange(seq_len, dtype=torch.float64, device=device)
    ang = torch.outer(pos, inv_freq)
    return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def apply_rope(x, cos, sin):
    """x: (B, T, H, hd); rotate interleaved pairs (x[2j], x[2j+1])."""
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack((y0, y1), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.n_heads, self.n_kv, self.hd = a.n_heads, a.n_kv_heads, a.head_dim
        self.wq = nn.Linear(a.dim, a.n_heads * self.hd, bias=False)
        self.wk = nn.Linear(a.dim, a.n_kv_heads * self.hd, bias=False)
        self.wv = nn.Linear(a.dim, a.n_kv_heads * self.hd, bias=False)
        self.wo = nn.Linear(a.n_heads * self.hd, a.dim, bias=False)
        self.dropout = a.dropout

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.wq(x).view(B, T, self.n_heads, self.hd)
        k = self.wk(x).view(B, T, self.n_kv, self.hd)
        v = self.wv(x).view(B, T, self.n_kv, self.hd)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv
        # query head h uses kv head h // rep (llama.cpp / llama2.c convention)
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, hd)
        # att = q k^T / sqrt(hd) + causal mask, as one fused op
        att = torch.baddbmm(mask[:T, :T].expand(B * self.n_heads, T, T),
                            q.reshape(B * self.n_heads, T, self.hd),
                            k.reshape(B * self.n_heads, T, self.hd).transpose(1, 2),
                            alpha=1.0 / math.sqrt(self.hd)).view(B, self.n_heads, T, T)
        att = F.softmax(att, dim=-1)
        if self.training and self.dropout > 0:
            att = F.dropout(att, self.dropout)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.n_heads * self.hd)
        return self.wo(y)


class FeedForward(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.w1 = nn.Linear(a.dim, a.hidden_dim, bias=False)  # ffn_gate
        self.w2 = nn.Linear(a.hidden_dim, a.dim, bias=False)  # ffn_down
        self.w3 = nn.Linear(a.dim, a.hidden_dim, bias=False)  # ffn_up

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.attention_norm = RMSNorm(a.dim, a.norm_eps)
        self.attention = Attention(a)
        self.ffn_norm = RMSNorm(a.dim, a.norm_eps)
        self.feed_forward = FeedForward(a)

    def forward(self, x, cos, sin, mask):
        h = x + self.attention(self.attention_norm(x), cos, sin, mask)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, a: ModelArgs):
        super().__init__()
        self.args = a
        self.tok_embeddings = nn.Embedding(a.vocab_size, a.dim)
        self.layers = nn.ModuleList([Block(a) for _ in range(a.n_layers)])
        self.norm = RMSNorm(a.dim, a.norm_eps)
        self.output = nn.Linear(a.dim, a.vocab_size, bias=False)
        self._tables = {}
        self.apply(self._init)
        for n, p in self.named_parameters():  # scaled init of residual projections (GPT-2)
            if n.endswith("wo.weight") or n.endswith("w2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * a.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def tables(self, T, dtype, device):
        key = (T, dtype, device)
        if key not in self._tables:
            cos, sin = rope_tables(self.args.head_dim, T, self.args.rope_base, dtype, device)
            mask = torch.full((T, T), float("-inf"), dtype=dtype, device=device).triu(1)
            self._tables = {key: (cos, sin, mask)}
        return self._tables[key]

    def forward(self, tokens, targets=None):
        B, T = tokens.shape
        x = self.tok_embeddings(tokens)
        cos, sin, mask = self.tables(T, x.dtype, x.device)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = self.output(self.norm(x))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
