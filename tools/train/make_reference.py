#!/usr/bin/env python3
"""Reference outputs for the engine's tests, computed with the training code's own
PyTorch forward pass in float64, with the weights loaded back FROM THE EXPORTED
GGUF FILE (so this also validates the export).

Writes tests/data/default_model_reference.json:
  model_file, model_sha256, n_vocab, bos_id, eos_id, prompts: [
    {text, token_ids (BOS + sentencepiece ids), top20 (per position: 20 [id, logit]),
     greedy_ids (200 tokens, argmax, full forward with growing context), greedy_text,
     logits_all (first prompt only: every position, all n_vocab logits)}],
  tokenizer_cases: [{text, ids}]  (sentencepiece ids WITHOUT BOS)
  word_check: share of words of the greedy continuations that are KJV words
Logits are rounded to 6 significant digits.  Also writes REPORT.md (training report).
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import time

import numpy as np
import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export_gguf import read_gguf, model_args_from_gguf, torch_name_of  # noqa: E402
from model import ModelArgs, Transformer  # noqa: E402

PROMPTS = [
    "In the beginning God created",
    "And the LORD said unto Moses,",
    "Blessed are the",
    "Psalm 23: The LORD is my shepherd; I shall not want \u2014 \u00e9",
]
WORD_CHECK_PROMPTS = 3  # the first three prompts
N_GREEDY = 200

TOKENIZER_CASES = [
    "", " ", "  ", "   leading spaces", "trailing spaces   ", "Hello world", "hello  world",
    "a\nb", "line one\n\nline two\n", "\n", " \n ", "\tTab\tseparated",
    "3:16 1234567890", "Genesis 1:1-3", "What? Yea, hath God said; Ye shall not eat (of it)!",
    "don't--won't 'quoted' \"double\"", "caf\u00e9 na\u00efve \u00c9lise \u00fcber",
    "emoji \U0001F600 and \u2764\ufe0f", "\u4e2d\u6587\u5b57 \u65e5\u672c\u8a9e",
    "\u0391\u03b2\u03b3 \u041f\u0440\u0438\u0432\u0435\u0442",
    "And the LORD spake unto Moses, saying,", "JERUSALEM Jerusalem jerusalem",
    "thee thou thy thine hath doth", "x" * 40,
]


def round6(x):
    return float("%.6g" % x)


def load_model(path):
    meta, tens, version = read_gguf(path)
    ma = ModelArgs(**model_args_from_gguf(meta))
    model = Transformer(ma).double()
    sd = {torch_name_of(k): torch.from_numpy(np.array(v, dtype=np.float64)) for k, v in tens.items()}
    model.load_state_dict(sd, strict=True)
    model.eval()
    return model, meta


@torch.no_grad()
def logits_of(model, ids):
    return model(torch.tensor([ids], dtype=torch.long))[0]


@torch.no_grad()
def greedy(model, ids, n):
    ids = list(ids)
    out = []
    for _ in range(n):
        nxt = int(torch.argmax(logits_of(model, ids)[-1]))
        out.append(nxt)
        ids.append(nxt)
    return out


@torch.no_grad()
def sample(model, ids, n, temp, top_k, gen):
    ids = list(ids)
    out = []
    for _ in range(n):
        lg = logits_of(model, ids)[-1] / temp
        v, ix = torch.topk(lg, top_k)
        p = torch.softmax(v, -1)
        nxt = int(ix[torch.multinomial(p, 1, generator=gen)])
        out.append(nxt)
        ids.append(nxt)
    return out


def numpy_llama_incremental(tens, meta, ids):
    """An independent float64 numpy forward pass written like llama2.c / the engine:
    one token at a time with a KV cache, weights taken directly from the GGUF tensors.
    Returns the logits of every position; used to cross-check the PyTorch model."""
    g = lambda k: meta[k][1]
    dim, L = g("llama.embedding_length"), g("llama.block_count")
    H, KV = g("llama.attention.head_count"), g("llama.attention.head_count_kv")
    hd, eps, base = dim // H, g("llama.attention.layer_norm_rms_epsilon"), g("llama.rope.freq_base")
    W = {k: np.asarray(v, dtype=np.float64) for k, v in tens.items()}
    rms = lambda x, w: x / np.sqrt(np.mean(x * x) + np.float64(eps)) * w
    kc = [[] for _ in range(L)]
    vc = [[] for _ in range(L)]
    out = []
    for pos, t in enumerate(ids):
        x = W["token_embd.weight"][t].copy()
        for l in range(L):
            b = "blk.%d." % l
            xn = rms(x, W[b + "attn_norm.weight"])
            q = W[b + "attn_q.weight"] @ xn
            k = W[b + "attn_k.weight"] @ xn
            v = W[b + "attn_v.weight"] @ xn
            for vec, nh in ((q, H), (k, KV)):
                for h in range(nh):
                    for i in range(0, hd, 2):
                        ang = pos * float(base) ** (-i / hd)
                        c, s_ = np.cos(ang), np.sin(ang)
                        a0, a1 = vec[h * hd + i], vec[h * hd + i + 1]
                        vec[h * hd + i], vec[h * hd + i + 1] = a0 * c - a1 * s_, a0 * s_ + a1 * c
            kc[l].append(k)
            vc[l].append(v)
            K, V = np.stack(kc[l]), np.stack(vc[l])
            att_out = np.zeros(H * hd)
            for h in range(H):
                kh = h // (H // KV)
                sc = K[:, kh * hd:(kh + 1) * hd] @ q[h * hd:(h + 1) * hd] / np.sqrt(hd)
                p = np.exp(sc - sc.max())
                p /= p.sum()
                att_out[h * hd:(h + 1) * hd] = p @ V[:, kh * hd:(kh + 1) * hd]
            x = x + W[b + "attn_output.weight"] @ att_out
            xn = rms(x, W[b + "ffn_norm.weight"])
            gt = W[b + "ffn_gate.weight"] @ xn
            up = W[b + "ffn_up.weight"] @ xn
            x = x + W[b + "ffn_down.weight"] @ (gt / (1 + np.exp(-gt)) * up)
        out.append(W["output.weight"] @ rms(x, W["output_norm.weight"]))
    return np.stack(out)


WORD_RE = re.compile(r"[A-Za-z]+")


def corpus_words(work):
    words = set()
    for name in ("train.jsonl", "val.jsonl"):
        with open(os.path.join(work, name), encoding="utf-8") as f:
            for line in f:
                for v in json.loads(line)["verses"]:
                    words.update(WORD_RE.findall(v))
    return words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "..", "resources", "models",
                                                    "playground-kjv.gguf"))
    ap.add_argument("--tokenizer", default=os.path.join(HERE, "work", "tokenizer.model"))
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "data",
                                                  "default_model_reference.json"))
    ap.add_argument("--report", default=os.path.join(HERE, "..", "..", "resources", "models",
                                                     "REPORT.md"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()

    sp = spm.SentencePieceProcessor(model_file=a.tokenizer)
    model, meta = load_model(a.model)
    # cross-check the PyTorch model against the independent incremental numpy forward
    _, tens, _ = read_gguf(a.model)
    ids = [1] + sp.encode(PROMPTS[1])
    d = np.abs(numpy_llama_incremental(tens, meta, ids) - logits_of(model, ids).numpy()).max()
    print("PyTorch float64 vs independent numpy incremental forward: max |dlogit| = %.2e" % d)
    assert d < 1e-9, d
    nv = model.args.vocab_size
    assert meta["tokenizer.ggml.tokens"][1] == [sp.id_to_piece(i) for i in range(nv)]
    model_bytes = open(a.model, "rb").read()
    sha = hashlib.sha256(model_bytes).hexdigest()

    # the float64 GGUF model must agree with the float32 training checkpoint
    ck_path = os.path.join(a.work, "final.pt")
    m32 = None
    if os.path.exists(ck_path):
        ck = torch.load(ck_path, map_location="cpu")
        m32 = Transformer(ModelArgs(**ck["model_args"]))
        m32.load_state_dict(ck["model"])
        m32.eval()
        ids = [1] + sp.encode(PROMPTS[0])
        with torch.no_grad():
            d = (m32(torch.tensor([ids]))[0].double() - logits_of(model, ids)).abs().max().item()
        print("float32 checkpoint vs float64 GGUF model: max |dlogit| = %.2e" % d)
        assert d < 1e-3

    ref = {"model_file": "resources/models/" + os.path.basename(a.model), "model_sha256": sha,
           "model_bytes": len(model_bytes), "n_vocab": nv, "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
           "add_bos": True, "n_greedy": N_GREEDY,
           "notes": "float64 PyTorch forward pass with the GGUF weights; logits rounded to 6 "
                    "significant digits; token_ids include BOS; tokenizer_cases ids exclude BOS; "
                    "greedy = argmax at each step, full forward with growing context, no stop token "
                    "(the model never saw EOS; it may emit BOS where it expects a new chapter); "
                    "greedy_text = decode(prompt + continuation) minus decode(prompt), so it keeps "
                    "its leading space; greedy_min_top2_margin = smallest top1-top2 logit gap "
                    "along the greedy path.",
           "prompts": []}
    vocab = corpus_words(a.work)
    total_words = known_words = 0
    for pi, text in enumerate(PROMPTS):
        ids = [1] + sp.encode(text)
        lg = logits_of(model, ids)
        entry = {"text": text, "token_ids": ids}
        if pi == 0:
            entry["logits_all"] = [[round6(x) for x in row.tolist()] for row in lg]
        top = []
        for row in lg:
            v, ix = torch.topk(row, 20)
            top.append([[int(i), round6(x)] for i, x in zip(ix.tolist(), v.tolist())])
        entry["top20"] = top
        g = greedy(model, ids, N_GREEDY)
        entry["greedy_ids"] = g
        # the continuation as it appears appended to the prompt (keeps its leading space)
        head = sp.decode(ids[1:])
        both = sp.decode(ids[1:] + g)
        assert both.startswith(head)
        entry["greedy_text"] = both[len(head):]
        # how safe is the greedy path for an F32 engine? smallest top1-top2 gap along it,
        # and the float32 checkpoint's argmax on the same path (teacher forcing)
        full = logits_of(model, ids + g)[len(ids) - 1: len(ids) - 1 + len(g)]
        top2 = torch.topk(full, 2, dim=-1).values
        entry["greedy_min_top2_margin"] = round6(float((top2[:, 0] - top2[:, 1]).min()))
        if m32 is not None:
            with torch.no_grad():
                a32 = m32(torch.tensor([ids + g]))[0][len(ids) - 1: len(ids) - 1 + len(g)].argmax(-1)
            entry["float32_greedy_agrees"] = bool((a32 == torch.tensor(g)).all())
        if pi < WORD_CHECK_PROMPTS:
            w = WORD_RE.findall(entry["greedy_text"])
            k = sum(1 for x in w if x in vocab)
            entry["word_check"] = {"words": len(w), "corpus_words": k}
            total_words += len(w)
            known_words += k
        ref["prompts"].append(entry)
        print("prompt %d: %d tokens, greedy done (%.0f s); min top1-top2 margin on the greedy path "
              "%.4g; float32 agrees: %s; BOS/EOS in continuation: %d/%d"
              % (pi, len(ids), time.time() - t0, entry["greedy_min_top2_margin"],
                 entry.get("float32_greedy_agrees"), g.count(sp.bos_id()), g.count(sp.eos_id())),
              flush=True)
    ref["word_check"] = {"prompts": WORD_CHECK_PROMPTS, "words": total_words,
                         "corpus_words": known_words,
                         "fraction": known_words / max(1, total_words),
                         "rule": "words = [A-Za-z]+ runs of the decoded greedy continuation; "
                                 "vocabulary = the same runs over the whole cleaned KJV text, case-sensitive"}
    ref["tokenizer_cases"] = [{"text": s, "ids": sp.encode(s)} for s in TOKENIZER_CASES]
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes); word check %d/%d = %.1f%%"
          % (a.out, os.path.getsize(a.out), known_words, total_words,
             100.0 * known_words / max(1, total_words)))

    # ---- samples for the report (float64 model, seeded) ----
    gen = torch.Generator().manual_seed(42)
    samples = []
    for text in PROMPTS[:3]:
        ids = [1] + sp.encode(text)
        s = sample(model, ids, 80, 0.8, 40, gen)
        samples.append((text, sp.decode(ids[1:] + s)[len(sp.decode(ids[1:])):]))
    write_report(a, ref, samples, vocab)
    print("done in %.0f s" % (time.time() - t0))


def write_report(a, ref, samples, vocab):
    summ_path = os.path.join(a.work, "train_summary.json")
    s = json.load(open(summ_path)) if os.path.exists(summ_path) else {}
    ma = s.get("model_args", {})
    L = []
    L.append("# playground-kjv: training report\n")
    L.append("Generated by `tools/train/make_reference.py` (see `tools/train/README.md`; one command: "
             "`tools/train/reproduce.sh`).\n")
    L.append("## Model\n")
    L.append("| | |\n|---|---|")
    L.append("| file | `%s` (%d bytes, %.1f MB, GGUF v3, all tensors F32) |"
             % (ref["model_file"], ref["model_bytes"], ref["model_bytes"] / 1e6))
    L.append("| sha256 | `%s` |" % ref["model_sha256"])
    if ma:
        L.append("| architecture | llama: dim %d, %d layers, %d heads / %d KV heads (head dim %d), "
                 "SwiGLU hidden %d, RoPE interleaved base %g, RMSNorm eps %g, untied output |"
                 % (ma["dim"], ma["n_layers"], ma["n_heads"], ma["n_kv_heads"],
                    ma["dim"] // ma["n_heads"], ma["hidden_dim"], ma["rope_base"], ma["norm_eps"]))
        L.append("| context length (training sequence) | %d |" % ma["max_seq_len"])
        L.append("| vocabulary | %d (SentencePiece BPE, byte fallback) |" % ma["vocab_size"])
        L.append("| parameters | %d (%.2f M) |" % (s["n_params"], s["n_params"] / 1e6))
    L.append("")
    if s:
        h = s["hyper"]
        L.append("## Training\n")
        L.append("| | |\n|---|---|")
        L.append("| corpus | King James Bible, Debian `bible-kjv-text`; %d training tokens per epoch, "
                 "%d validation tokens (every 20th chapter) |" % (s["train_tokens_per_epoch"], s["val_tokens"]))
        L.append("| tokens seen | %d (%.2f epochs), %d steps of %d x %d tokens |"
                 % (s["tokens_seen"], s["epochs"], s["steps"], h["batch"], h["seq_len"]))
        L.append("| wall time | %.1f min on 2 shared cores (`nice -n 10`, torch %s, %d threads) |"
                 % (s["train_minutes"], s["torch"], h["threads"]))
        L.append("| optimiser | AdamW (0.9, 0.95), weight decay %g, peak LR %g, warm-up %d steps, "
                 "cosine to %g over the time budget (%g min), grad clip %g |"
                 % (h["wd"], h["lr"], h["warmup"], h["min_lr"], h["time_budget"], h["clip"]))
        L.append("| final train loss | %.4f (fixed windows over training chapters; last running "
                 "mean %.4f) |" % (s["final_train_loss"], s["last_running_train_loss"] or float("nan")))
        L.append("| final validation loss | %.4f (perplexity %.2f) |"
                 % (s["final_val_loss"], math.exp(s["final_val_loss"])))
        L.append("")
        L.append("Loss curve (running mean of the train loss, every 100 steps; validation loss on 24 "
             "fixed windows every ~4 minutes):\n")
        L.append("```")
        tr = [x for x in s["history"] if "train_loss" in x]
        for x in tr[::10] + ([tr[-1]] if tr and tr[-1] not in tr[::10] else []):
            L.append("step %5d  tokens %8d  %5.1f min  train %.4f"
                     % (x["step"], x["tokens"], x["minutes"], x["train_loss"]))
        for x in s["history"]:
            if "val_loss_24" in x:
                L.append("step %5d  tokens %8d  %5.1f min  val   %.4f"
                         % (x["step"], x["tokens"], x["minutes"], x["val_loss_24"]))
        L.append("```\n")
    wc = ref["word_check"]
    L.append("## Quality check\n")
    L.append("Words of the 200-token greedy continuations of the first three prompts that occur in "
             "the KJV text: **%d / %d = %.1f%%** (rule: %s).\n"
             % (wc["corpus_words"], wc["words"], 100 * wc["fraction"], wc["rule"]))
    L.append("## Greedy continuations (float64, argmax, first 200 tokens)\n")
    for p in ref["prompts"]:
        L.append("**%s**\n" % p["text"])
        L.append("```\n%s%s\n```\n" % (p["text"], p["greedy_text"]))
        L.append("(smallest top-1/top-2 logit gap along the greedy path: %.4g; BOS tokens in the "
                 "continuation: %d)\n" % (p["greedy_min_top2_margin"], p["greedy_ids"].count(ref["bos_id"])))
    L.append("## Sampled continuations (temperature 0.8, top-k 40, seed 42, 80 tokens)\n")
    for t, c in samples:
        L.append("```\n%s%s\n```\n" % (t, c))
    with open(a.report, "w", encoding="utf-8") as f:
        f.write("\n".join(L))
    print("wrote", a.report)


if __name__ == "__main__":
    main()
