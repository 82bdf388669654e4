#!/usr/bin/python3
"""Independent reference logits for the model-family test files (tests/engine/test_families.cpp).

Shares no code with the engine. For every <case>.gguf in a directory it
  1. reads the file with the small GGUF parser below (F32/F16 tensors),
  2. turns the GGUF metadata into the Hugging Face config it implies and, for llama, undoes
     convert_hf_to_gguf.py's Q/K permutation to get Hugging Face's weight layout,
  3. runs the forward pass as transformers' modeling_llama / modeling_qwen2 / modeling_qwen3 do
     (rotate-half RoPE, repeat_kv, q/k RMS norm for Qwen3, partial rotary as the partial-rotary
     models split q_rot/q_pass), with inv_freq and attention_factor from transformers'
     modeling_rope_utils (default, linear, llama3, yarn), in float64,
  4. writes the logits at a few positions (some beyond the original context of the scaled
     cases) and the greedy continuation to a JSON file, with each GGUF file's sha256.

Usage (see README.md next to this file):
    /usr/bin/python3 tools/reference/families_reference.py MODEL_DIR tests/data/families_reference.json
"""

import hashlib
import json
import math
import os
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:  # NumPy only would do; torch is what the HF code is written in
    torch = None

# The scaling configs the Llama 3.1-style case was made from (the GGUF file holds only the
# resulting rope_freqs tensor, as convert_hf_to_gguf.py writes it). Keys are case names.
LLAMA3_ROPE_SCALING = {
    "llama3_freqs": {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32,
    },
}

PROMPT_LENGTH = 48
POSITIONS = [0, 17, 33, 47]
GREEDY_TOKENS = 8

# --------------------------------------------------------------------------------------------
# GGUF


class Gguf:
    SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        magic = self.data[:4]
        if magic != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        self.pos = 4
        version = self.u32()
        if version not in (2, 3):
            raise ValueError(f"{path}: GGUF version {version}")
        n_tensors = self.u64()
        n_kv = self.u64()
        self.kv = {}
        for _ in range(n_kv):
            key = self.string()
            self.kv[key] = self.value(self.u32())
        infos = []
        for _ in range(n_tensors):
            name = self.string()
            n_dims = self.u32()
            dims = [self.u64() for _ in range(n_dims)]
            ggml_type = self.u32()
            offset = self.u64()
            infos.append((name, dims, ggml_type, offset))
        alignment = int(self.kv.get("general.alignment", 32))
        start = (self.pos + alignment - 1) // alignment * alignment
        self.tensors = {}
        for name, dims, ggml_type, offset in infos:
            count = int(np.prod(dims))
            if ggml_type == 0:
                arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=start + offset)
            elif ggml_type == 1:
                arr = np.frombuffer(self.data, dtype="<f2", count=count, offset=start + offset)
            else:
                raise ValueError(f"{path}: tensor {name} has ggml type {ggml_type}; only F32/F16 here")
            # GGUF dims are innermost first: [cols, rows] is a (rows, cols) row-major matrix.
            self.tensors[name] = arr.astype(np.float64).reshape(list(reversed(dims)))

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def u32(self):
        return self.take("<I")

    def u64(self):
        return self.take("<Q")

    def string(self):
        n = self.u64()
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, t):
        if t in self.SCALARS:
            return self.take(self.SCALARS[t])
        if t == 8:
            return self.string()
        if t == 9:
            item_type = self.u32()
            n = self.u64()
            return [self.value(item_type) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {t}")


# --------------------------------------------------------------------------------------------
# The Hugging Face config the GGUF metadata implies


def hf_config(g, name):
    arch = g.kv["general.architecture"]
    if arch not in ("llama", "qwen2", "qwen3"):
        raise ValueError(f"{name}: architecture {arch}")
    p = arch + "."
    heads = g.kv[p + "attention.head_count"]
    hidden = g.kv[p + "embedding_length"]
    head_dim = g.kv.get(p + "attention.key_length", hidden // heads)
    n_rot = g.kv.get(p + "rope.dimension_count", head_dim)
    cfg = {
        "model_type": arch,
        "hidden_size": hidden,
        "num_hidden_layers": g.kv[p + "block_count"],
        "num_attention_heads": heads,
        "num_key_value_heads": g.kv.get(p + "attention.head_count_kv", heads),
        "head_dim": head_dim,
        "partial_rotary_factor": n_rot / head_dim,
        "intermediate_size": g.kv[p + "feed_forward_length"],
        "rms_norm_eps": g.kv[p + "attention.layer_norm_rms_epsilon"],
        "rope_theta": g.kv.get(p + "rope.freq_base", 10000.0),
        "max_position_embeddings": g.kv.get(p + "context_length", 2048),
        "vocab_size": len(g.kv["tokenizer.ggml.tokens"]),
        "tie_word_embeddings": "output.weight" not in g.tensors,
        "rope_scaling": None,
    }
    scaling = g.kv.get(p + "rope.scaling.type")
    factor = g.kv.get(p + "rope.scaling.factor", g.kv.get(p + "rope.scale_linear"))
    if scaling == "yarn":
        cfg["rope_scaling"] = {
            "rope_type": "yarn",
            "factor": factor,
            "original_max_position_embeddings": g.kv.get(
                p + "rope.scaling.original_context_length", cfg["max_position_embeddings"]),
            "beta_fast": g.kv.get(p + "rope.scaling.yarn_beta_fast", 32.0),
            "beta_slow": g.kv.get(p + "rope.scaling.yarn_beta_slow", 1.0),
        }
    elif factor is not None and factor != 1.0 and scaling in (None, "linear"):
        cfg["rope_scaling"] = {"rope_type": "linear", "factor": factor}
    elif scaling not in (None, "none", "linear"):
        raise ValueError(f"{name}: scaling {scaling}")
    if name in LLAMA3_ROPE_SCALING:
        cfg["rope_scaling"] = LLAMA3_ROPE_SCALING[name]
    # llama.cpp multiplies cos and sin by rope.scaling.attn_factor on top of YaRN's mscale.
    cfg["gguf_attn_factor"] = g.kv.get(p + "rope.scaling.attn_factor", 1.0)
    return cfg


# --------------------------------------------------------------------------------------------
# transformers' modeling_rope_utils, for the types used here


def rope_parameters(cfg):
    """inv_freq (n_rot/2,) and attention_factor, as transformers' ROPE_INIT_FUNCTIONS compute them."""
    base = cfg["rope_theta"]
    dim = int(cfg["head_dim"] * cfg["partial_rotary_factor"])  # _compute_default_rope_parameters
    inv_freq = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))
    attention_factor = 1.0
    rs = cfg["rope_scaling"]
    if rs is None:
        pass
    elif rs["rope_type"] == "linear":  # _compute_linear_scaling_rope_parameters: positions / factor
        inv_freq = inv_freq / rs["factor"]
    elif rs["rope_type"] == "llama3":  # _compute_llama3_parameters
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
        inv_freq = np.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    elif rs["rope_type"] == "yarn":  # _compute_yarn_parameters
        factor = rs["factor"]
        original_max_position_embeddings = rs["original_max_position_embeddings"]
        # Some transformers versions replace factor by max_position_embeddings / original; the test
        # files are written so that both readings agree.
        assert abs(cfg["max_position_embeddings"] / original_max_position_embeddings - factor) < 1e-9

        def get_mscale(scale, mscale=1.0):
            if scale <= 1:
                return 1.0
            return 0.1 * mscale * math.log(scale) + 1.0

        attention_factor = get_mscale(factor)
        beta_fast = rs.get("beta_fast") or 32
        beta_slow = rs.get("beta_slow") or 1

        def find_correction_dim(num_rotations, dim, base, max_position_embeddings):
            return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

        def find_correction_range(low_rot, high_rot, dim, base, max_position_embeddings):
            low = math.floor(find_correction_dim(low_rot, dim, base, max_position_embeddings))
            high = math.ceil(find_correction_dim(high_rot, dim, base, max_position_embeddings))
            return max(low, 0), min(high, dim - 1)

        def linear_ramp_factor(lo, hi, n):
            if lo == hi:
                hi += 0.001
            return np.clip((np.arange(n, dtype=np.float64) - lo) / (hi - lo), 0, 1)

        pos_freqs = base ** (np.arange(0, dim, 2).astype(np.float64) / dim)
        inv_freq_extrapolation = 1.0 / pos_freqs
        inv_freq_interpolation = 1.0 / (factor * pos_freqs)
        low, high = find_correction_range(beta_fast, beta_slow, dim, base, original_max_position_embeddings)
        inv_freq_extrapolation_factor = 1 - linear_ramp_factor(low, high, dim // 2)
        inv_freq = (inv_freq_interpolation * (1 - inv_freq_extrapolation_factor)
                    + inv_freq_extrapolation * inv_freq_extrapolation_factor)
    else:
        raise ValueError(f"rope type {rs['rope_type']}")
    return inv_freq, attention_factor * cfg["gguf_attn_factor"]


def check_rope_freqs(g, cfg, inv_freq, name):
    """The file's rope_freqs (divisors of base^(-2i/n_rot)) must give HF's llama3 inv_freq."""
    if "rope_freqs.weight" not in g.tensors:
        if name in LLAMA3_ROPE_SCALING:
            raise ValueError(f"{name}: no rope_freqs.weight")
        return None
    dim = len(inv_freq) * 2
    plain = 1.0 / (cfg["rope_theta"] ** (np.arange(0, dim, 2).astype(np.float64) / dim))
    from_file = plain / g.tensors["rope_freqs.weight"]
    worst = float(np.max(np.abs(from_file - inv_freq) / inv_freq))
    if worst > 1e-5:
        raise ValueError(f"{name}: rope_freqs.weight differs from HF's llama3 inv_freq by {worst:.3g} (relative)")
    return worst


# --------------------------------------------------------------------------------------------
# The forward pass, as transformers' modeling_llama / qwen2 / qwen3 (eager attention), float64


def unpermute(w, n_head):
    """Undoes convert_hf_to_gguf.py LlamaModel.permute: GGUF's interleaved rows -> HF's halves."""
    rows, cols = w.shape
    return w.reshape(n_head, rows // n_head // 2, 2, cols).swapaxes(1, 2).reshape(rows, cols)


class HfModel:
    def __init__(self, g, cfg):
        self.cfg = cfg
        t = {k: torch.tensor(v, dtype=torch.float64) for k, v in g.tensors.items()}
        self.t = t
        arch = cfg["model_type"]
        if arch == "llama":
            for layer in range(cfg["num_hidden_layers"]):
                q = f"blk.{layer}.attn_q.weight"
                k = f"blk.{layer}.attn_k.weight"
                t[q] = torch.tensor(unpermute(g.tensors[q], cfg["num_attention_heads"]), dtype=torch.float64)
                t[k] = torch.tensor(unpermute(g.tensors[k], cfg["num_key_value_heads"]), dtype=torch.float64)
        self.lm_head = t["token_embd.weight"] if cfg["tie_word_embeddings"] else t["output.weight"]
        inv_freq, self.attention_factor = rope_parameters(cfg)
        self.inv_freq = torch.tensor(inv_freq, dtype=torch.float64)

    def rms_norm(self, x, weight):  # LlamaRMSNorm / Qwen2RMSNorm / Qwen3RMSNorm
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.cfg["rms_norm_eps"]))

    @staticmethod
    def rotate_half(x):
        x1 = x[..., : x.shape[-1] // 2]
        x2 = x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def rotary(self, seq):  # LlamaRotaryEmbedding.forward
        positions = torch.arange(seq, dtype=torch.float64)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos() * self.attention_factor, emb.sin() * self.attention_factor

    def apply_rotary(self, x, cos, sin):
        # apply_rotary_pos_emb; with partial_rotary_factor < 1 only the first rotary_ndims rotate and
        # the rest pass through (as modeling_phi / stablelm / glm split q_rot and q_pass).
        rot = cos.shape[-1]
        x_rot, x_pass = x[..., :rot], x[..., rot:]
        x_rot = x_rot * cos + self.rotate_half(x_rot) * sin
        return torch.cat((x_rot, x_pass), dim=-1)

    def forward(self, ids):
        cfg, t = self.cfg, self.t
        seq = len(ids)
        nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        x = t["token_embd.weight"][torch.tensor(ids)]
        cos, sin = self.rotary(seq)
        mask = torch.full((seq, seq), float("-inf"), dtype=torch.float64).triu(1)
        for layer in range(cfg["num_hidden_layers"]):
            b = f"blk.{layer}."
            h = self.rms_norm(x, t[b + "attn_norm.weight"])
            q = h @ t[b + "attn_q.weight"].T
            k = h @ t[b + "attn_k.weight"].T
            v = h @ t[b + "attn_v.weight"].T
            if cfg["model_type"] == "qwen2":
                q = q + t[b + "attn_q.bias"]
                k = k + t[b + "attn_k.bias"]
                v = v + t[b + "attn_v.bias"]
            q = q.view(seq, nh, hd).transpose(0, 1)
            k = k.view(seq, nkv, hd).transpose(0, 1)
            v = v.view(seq, nkv, hd).transpose(0, 1)
            if cfg["model_type"] == "qwen3":  # q_norm / k_norm over head_dim, before RoPE
                q = self.rms_norm(q, t[b + "attn_q_norm.weight"])
                k = self.rms_norm(k, t[b + "attn_k_norm.weight"])
            q = self.apply_rotary(q, cos, sin)
            k = self.apply_rotary(k, cos, sin)
            k = k.repeat_interleave(nh // nkv, dim=0)  # repeat_kv
            v = v.repeat_interleave(nh // nkv, dim=0)
            scores = (q @ k.transpose(1, 2)) * hd ** -0.5 + mask
            att = torch.softmax(scores, dim=-1) @ v
            att = att.transpose(0, 1).reshape(seq, nh * hd)
            x = x + att @ t[b + "attn_output.weight"].T
            h = self.rms_norm(x, t[b + "ffn_norm.weight"])
            gate = h @ t[b + "ffn_gate.weight"].T
            up = h @ t[b + "ffn_up.weight"].T
            x = x + (torch.nn.functional.silu(gate) * up) @ t[b + "ffn_down.weight"].T
        x = self.rms_norm(x, t["output_norm.weight"])
        return x @ self.lm_head.T


# --------------------------------------------------------------------------------------------


def fmt(x):
    return float(f"{x:.7g}")


def reference_case(path, name):
    g = Gguf(path)
    cfg = hf_config(g, name)
    model = HfModel(g, cfg)
    rope_freqs_error = check_rope_freqs(g, cfg, model.inv_freq.numpy(), name)
    rng = np.random.RandomState(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16))
    tokens = [int(i) for i in rng.randint(3, cfg["vocab_size"], size=PROMPT_LENGTH)]
    if len(tokens) + GREEDY_TOKENS > cfg["max_position_embeddings"]:
        raise ValueError(f"{name}: context {cfg['max_position_embeddings']} is too short")
    logits = model.forward(tokens)
    greedy, margins, seq = [], [], list(tokens)
    for _ in range(GREEDY_TOKENS):
        last = model.forward(seq)[-1]
        top2 = torch.topk(last, 2)
        greedy.append(int(top2.indices[0]))
        margins.append(fmt(float(top2.values[0] - top2.values[1])))
        seq.append(greedy[-1])
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    case = {
        "name": name,
        "sha256": digest,
        "architecture": cfg["model_type"],
        "hf_config": {k: v for k, v in cfg.items() if k != "gguf_attn_factor"},
        "attention_factor": model.attention_factor,
        "inv_freq": [fmt(v) for v in model.inv_freq.tolist()],
        "tokens": tokens,
        "positions": POSITIONS,
        "logits": [[fmt(v) for v in logits[p].tolist()] for p in POSITIONS],
        "greedy": greedy,
        "greedy_margins": margins,
    }
    if rope_freqs_error is not None:
        case["rope_freqs_max_relative_error"] = fmt(rope_freqs_error)
    return case


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if torch is None:
        print("this script needs torch (Debian: python3-torch)", file=sys.stderr)
        return 1
    model_dir, out_path = sys.argv[1], sys.argv[2]
    names = sorted(f[:-5] for f in os.listdir(model_dir) if f.endswith(".gguf"))
    if not names:
        print(f"no .gguf files in {model_dir}", file=sys.stderr)
        return 1
    cases = []
    for name in names:
        case = reference_case(os.path.join(model_dir, name + ".gguf"), name)
        print(f"{name}: {case['architecture']}, greedy {case['greedy']}, min margin {min(case['greedy_margins'])}")
        cases.append(case)
    doc = {
        "generator": "tools/reference/families_reference.py (see tools/reference/README.md)",
        "note": "Hugging Face transformers semantics in float64 from each GGUF file; logits at the "
                "listed positions of the prompt, then the greedy continuation",
        "cases": cases,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
