#!/usr/bin/env python3
"""Export a trained checkpoint to GGUF v3 (all tensors F32), with a minimal
GGUF writer and reader written from the spec
(https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):

  header : magic "GGUF", u32 version (3), u64 tensor_count, u64 metadata_kv_count
  kv     : gguf_string key, u32 value_type, value
           string = u64 length + UTF-8 bytes (no NUL)
           array  = u32 element type, u64 count, elements
  tensor info : gguf_string name, u32 n_dims, u64 dims[n_dims] (innermost first),
                u32 ggml_type (0 = F32), u64 offset (relative to the data section,
                a multiple of general.alignment = 32)
  padding to the next multiple of 32, then the tensor data (each tensor padded to 32).

All values little-endian.  A PyTorch Linear weight (out, in) is stored
row-major, so its GGUF dims are [in, out]; the embedding (vocab, dim) gets
[dim, vocab].  After writing, the file is read back with the reader below and
every metadata value and tensor is compared with the source.
"""
import argparse
import hashlib
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# gguf metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
           BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
_NP = {U8: "<u1", I8: "<i1", U16: "<u2", I16: "<i2", U32: "<u4", I32: "<i4", F32: "<f4",
       BOOL: "<u1", U64: "<u8", I64: "<i8", F64: "<f8"}
GGML_TYPE_F32 = 0
ALIGN = 32


class Val:
    """A typed metadata value: Val(U32, 5), Val(STRING, "x"), Val(ARRAY, [...], elem=F32)."""

    def __init__(self, vtype, value, elem=None):
        self.vtype, self.value, self.elem = vtype, value, elem


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value, elem=None):
    if vtype == STRING:
        return _str(value)
    if vtype == ARRAY:
        out = [struct.pack("<IQ", elem, len(value))]
        if elem == STRING:
            out += [_str(v) for v in value]
        elif elem == ARRAY:
            raise ValueError("nested arrays not supported")
        else:
            out.append(np.asarray(value, dtype=_NP[elem]).tobytes())
        return b"".join(out)
    return struct.pack(_SCALAR[vtype], value)


def _pad(n):
    return (ALIGN - n % ALIGN) % ALIGN


def write_gguf(path, metadata, tensors):
    """metadata: list of (key, Val); tensors: list of (name, np.ndarray float32, gguf_dims)."""
    head = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(metadata))]
    for key, v in metadata:
        head.append(_str(key) + struct.pack("<I", v.vtype) + _value(v.vtype, v.value, v.elem))
    offset = 0
    infos, blobs = [], []
    for name, arr, dims in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        assert int(np.prod(dims)) == arr.size, name
        infos.append(_str(name) + struct.pack("<I", len(dims)) +
                     struct.pack("<%dQ" % len(dims), *dims) + struct.pack("<IQ", GGML_TYPE_F32, offset))
        b = arr.tobytes()
        blobs.append(b + b"\0" * _pad(len(b)))
        offset += len(blobs[-1])
    header = b"".join(head + infos)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        f.write(b"\0" * _pad(len(header)))
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


class Reader:
    def __init__(self, path):
        self.buf = np.memmap(path, dtype=np.uint8, mode="r")
        self.mv = memoryview(self.buf)
        self.pos = 0

    def take(self, fmt):
        n = struct.calcsize(fmt)
        if self.pos + n > len(self.buf):
            raise ValueError("truncated GGUF file")
        v = struct.unpack_from(fmt, self.mv, self.pos)
        self.pos += n
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take("<Q")
        if self.pos + n > len(self.buf):
            raise ValueError("string runs past end of file")
        s = bytes(self.mv[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == STRING:
            return self.string()
        if vtype == ARRAY:
            elem, count = self.take("<I"), self.take("<Q")
            if elem == STRING:
                return [self.string() for _ in range(count)]
            dt = np.dtype(_NP[elem])
            a = np.frombuffer(self.mv, dtype=dt, count=count, offset=self.pos).copy()
            self.pos += count * dt.itemsize
            return a.astype(bool).tolist() if elem == BOOL else a.tolist()
        return self.take(_SCALAR[vtype])


def read_gguf(path):
    """Returns (metadata dict key -> (vtype, value)), tensors dict name -> np.ndarray
    shaped like the PyTorch tensor (dims reversed), version)."""
    r = Reader(path)
    if bytes(r.mv[0:4]) != b"GGUF":
        raise ValueError("bad magic")
    r.pos = 4
    version, n_tensors, n_kv = r.take("<IQQ")
    if version not in (2, 3):
        raise ValueError("unsupported version %d" % version)
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        vtype = r.take("<I")
        meta[key] = (vtype, r.value(vtype))
    align = meta.get("general.alignment", (U32, ALIGN))[1]
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        gtype, off = r.take("<IQ")
        infos.append((name, dims, gtype, off))
    data_start = r.pos + (align - r.pos % align) % align
    tensors = {}
    for name, dims, gtype, off in infos:
        if gtype != GGML_TYPE_F32:
            raise ValueError("%s: only F32 supported by this reader" % name)
        if off % align:
            raise ValueError("%s: misaligned offset" % name)
        n = int(np.prod(dims))
        start = data_start + off
        if start + 4 * n > len(r.buf):
            raise ValueError("%s: data runs past end of file" % name)
        arr = np.frombuffer(r.mv, dtype="<f4", count=n, offset=start)
        tensors[name] = arr.reshape(list(reversed(dims)))
    return meta, tensors, version


def gguf_name(torch_name):
    p = torch_name.split(".")
    if torch_name == "tok_embeddings.weight":
        return "token_embd.weight"
    if torch_name == "norm.weight":
        return "output_norm.weight"
    if torch_name == "output.weight":
        return "output.weight"
    assert p[0] == "layers", torch_name
    sub = {"attention_norm": "attn_norm", "attention.wq": "attn_q", "attention.wk": "attn_k",
           "attention.wv": "attn_v", "attention.wo": "attn_output", "ffn_norm": "ffn_norm",
           "feed_forward.w1": "ffn_gate", "feed_forward.w3": "ffn_up",
           "feed_forward.w2": "ffn_down"}[".".join(p[2:-1])]
    return "blk.%s.%s.weight" % (p[1], sub)


def torch_name_of(gname):
    inv = {"attn_norm": "attention_norm", "attn_q": "attention.wq", "attn_k": "attention.wk",
           "attn_v": "attention.wv", "attn_output": "attention.wo", "ffn_norm": "ffn_norm",
           "ffn_gate": "feed_forward.w1", "ffn_up": "feed_forward.w3", "ffn_down": "feed_forward.w2"}
    if gname == "token_embd.weight":
        return "tok_embeddings.weight"
    if gname == "output_norm.weight":
        return "norm.weight"
    if gname == "output.weight":
        return "output.weight"
    _, n, sub, _ = gname.split(".")
    return "layers.%s.%s.weight" % (n, inv[sub])


def model_args_from_gguf(meta):
    g = lambda k: meta[k][1]
    return dict(dim=g("llama.embedding_length"), n_layers=g("llama.block_count"),
                n_heads=g("llama.attention.head_count"), n_kv_heads=g("llama.attention.head_count_kv"),
                hidden_dim=g("llama.feed_forward_length"), vocab_size=g("llama.vocab_size"),
                max_seq_len=g("llama.context_length"),
                norm_eps=g("llama.attention.layer_norm_rms_epsilon"),
                rope_base=g("llama.rope.freq_base"))


def main():
    import sentencepiece as spm
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=os.path.join(HERE, "work", "final.pt"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "work", "tokenizer.model"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "resources", "models",
                                                  "playground-kjv.gguf"))
    a = ap.parse_args()

    ck = torch.load(a.checkpoint, map_location="cpu")
    ma = ck["model_args"]
    sd = {k: v.detach().float().numpy() for k, v in ck["model"].items()}
    sp = spm.SentencePieceProcessor(model_file=a.tokenizer)
    nv = sp.vocab_size()
    assert nv == ma["vocab_size"]
    hd = ma["dim"] // ma["n_heads"]

    tokens = [sp.id_to_piece(i) for i in range(nv)]
    scores = [sp.GetScore(i) for i in range(nv)]
    types = []
    for i in range(nv):
        if sp.IsUnknown(i):
            types.append(2)
        elif sp.IsControl(i):
            types.append(3)
        elif sp.IsByte(i):
            types.append(6)
        elif sp.IsUnused(i):
            types.append(5)
        else:
            types.append(1)

    meta = [
        ("general.architecture", Val(STRING, "llama")),
        ("general.name", Val(STRING, "playground-kjv")),
        ("general.description", Val(STRING,
            "Small llama model trained from scratch on the King James Bible (Debian bible-kjv-text) "
            "by LLM Thread Playground's tools/train; one chapter per document, verses separated by "
            "newlines. For demonstrations, not for any real use.")),
        ("general.license", Val(STRING, "public-domain")),
        ("general.file_type", Val(U32, 0)),
        ("general.alignment", Val(U32, ALIGN)),
        ("llama.context_length", Val(U32, ma["max_seq_len"])),
        ("llama.embedding_length", Val(U32, ma["dim"])),
        ("llama.block_count", Val(U32, ma["n_layers"])),
        ("llama.feed_forward_length", Val(U32, ma["hidden_dim"])),
        ("llama.attention.head_count", Val(U32, ma["n_heads"])),
        ("llama.attention.head_count_kv", Val(U32, ma["n_kv_heads"])),
        ("llama.rope.dimension_count", Val(U32, hd)),
        ("llama.rope.freq_base", Val(F32, float(ma["rope_base"]))),
        ("llama.attention.layer_norm_rms_epsilon", Val(F32, float(ma["norm_eps"]))),
        ("llama.vocab_size", Val(U32, nv)),
        ("tokenizer.ggml.model", Val(STRING, "llama")),
        ("tokenizer.ggml.tokens", Val(ARRAY, tokens, elem=STRING)),
        ("tokenizer.ggml.scores", Val(ARRAY, scores, elem=F32)),
        ("tokenizer.ggml.token_type", Val(ARRAY, types, elem=I32)),
        ("tokenizer.ggml.bos_token_id", Val(U32, sp.bos_id())),
        ("tokenizer.ggml.eos_token_id", Val(U32, sp.eos_id())),
        ("tokenizer.ggml.unknown_token_id", Val(U32, sp.unk_id())),
        ("tokenizer.ggml.add_bos_token", Val(BOOL, True)),
        ("tokenizer.ggml.add_eos_token", Val(BOOL, False)),
        ("tokenizer.ggml.add_space_prefix", Val(BOOL, True)),
    ]

    order = ["tok_embeddings.weight"]
    for l in range(ma["n_layers"]):
        for s in ("attention_norm", "attention.wq", "attention.wk", "attention.wv", "attention.wo",
                  "ffn_norm", "feed_forward.w1", "feed_forward.w3", "feed_forward.w2"):
            order.append("layers.%d.%s.weight" % (l, s))
    order += ["norm.weight", "output.weight"]
    assert sorted(order) == sorted(sd.keys()), set(sd) ^ set(order)
    tensors = [(gguf_name(n), sd[n], list(reversed(sd[n].shape))) for n in order]

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_gguf(a.out, meta, tensors)

    # ---- read back and verify everything ----
    rmeta, rt, version = read_gguf(a.out)
    assert version == 3
    assert len(rmeta) == len(meta) and len(rt) == len(tensors)
    for k, v in meta:
        rv = rmeta[k]
        assert rv[0] == v.vtype, k
        if v.vtype == ARRAY and v.elem == F32:
            assert np.array_equal(np.asarray(rv[1], np.float32), np.asarray(v.value, np.float32)), k
        elif v.vtype == F32:
            assert np.float32(rv[1]) == np.float32(v.value), k
        else:
            assert rv[1] == v.value, k
    for name, arr, dims in tensors:
        got = rt[name]
        assert list(got.shape) == list(reversed(dims)), name
        assert np.array_equal(got, arr.astype(np.float32)), name
    n_params = sum(arr.size for _, arr, _ in tensors)
    size = os.path.getsize(a.out)
    h = hashlib.sha256(open(a.out, "rb").read()).hexdigest()
    print("wrote %s: GGUF v3, %d tensors, %d kv, %d params, %d bytes (%.1f MB), sha256 %s"
          % (a.out, len(tensors), len(meta), n_params, size, size / 1e6, h))
    print("read-back check: all metadata and tensors identical")


if __name__ == "__main__":
    sys.exit(main())
