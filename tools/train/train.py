#!/usr/bin/env python3
"""Train the playground's default llama model on the KJV corpus (CPU, PyTorch).

Training samples: a random verse v of a random training chapter is chosen
(uniformly over verses); the sample is BOS + the text from verse v to the end
of its chapter (verses joined by "\n"), then BOS + the next chapter, ... until
seq_len + 1 tokens.  So every sample starts the way a prompt does at inference
(BOS, then a "▁"-prefixed first word), and BOS also marks chapter starts inside
samples.

LR schedule: linear warm-up, then cosine decay to min_lr.  Progress is
max(tokens / max_tokens, elapsed / time_budget), so the run always anneals
properly and ends within the wall-time budget on a shared machine.
Checkpoints (model + optimizer) go to work/ckpt.pt every few minutes;
--resume continues from it.  The final weights go to work/final.pt and a
summary (losses, tokens, time) to work/train_summary.json.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import ModelArgs, Transformer  # noqa: E402


def load_chapters(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l)["verses"] for l in f]


class Sampler:
    def __init__(self, chapters, sp, seq_len, seed):
        self.ch = chapters
        self.sp = sp
        self.T = seq_len
        self.rng = random.Random(seed)
        self.index = [(c, v) for c, vs in enumerate(chapters) for v in range(len(vs))]
        self.char_budget = 8 * (seq_len + 1)  # ~4.3 chars/token in KJV: plenty

    def _encode_from(self, c, v, need):
        out, chars = [], 0
        vs = []
        for x in self.ch[c][v:]:
            vs.append(x)
            chars += len(x) + 1
            if chars > self.char_budget:
                break
        return [1] + self.sp.encode("\n".join(vs))

    def sample(self):
        c, v = self.rng.choice(self.index)
        toks = self._encode_from(c, v, self.T + 1)
        while len(toks) < self.T + 1:
            c = (c + 1) % len(self.ch)
            toks += self._encode_from(c, 0, self.T + 1 - len(toks))
        return toks[: self.T + 1]

    def batch(self, B):
        t = torch.tensor([self.sample() for _ in range(B)], dtype=torch.long)
        return t[:, :-1], t[:, 1:]


def val_windows(chapters, sp, T):
    stream = []
    for vs in chapters:
        stream += [1] + sp.encode("\n".join(vs))
    n = (len(stream) - 1) // T
    x = torch.tensor(stream[: n * T], dtype=torch.long).view(n, T)
    y = torch.tensor(stream[1: n * T + 1], dtype=torch.long).view(n, T)
    return x, y, len(stream)


@torch.no_grad()
def evaluate(model, vx, vy, limit=None, bs=8):
    model.eval()
    n = vx.size(0) if limit is None else min(limit, vx.size(0))
    tot, cnt = 0.0, 0
    for i in range(0, n, bs):
        _, loss = model(vx[i:i + bs][: n - i], vy[i:i + bs][: n - i])
        k = vx[i:i + bs][: n - i].numel()
        tot += loss.item() * k
        cnt += k
    model.train()
    return tot / cnt


def lr_at(progress, step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = min(1.0, progress)
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1 + math.cos(math.pi * p))


def save(path, obj):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--dim", type=int, default=192)
    ap.add_argument("--n-layers", type=int, default=6)
    ap.add_argument("--n-heads", type=int, default=6)
    ap.add_argument("--n-kv-heads", type=int, default=3)
    ap.add_argument("--hidden-dim", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--max-tokens", type=float, default=8e6)
    ap.add_argument("--time-budget", type=float, default=55.0, help="minutes of training")
    ap.add_argument("--eval-every", type=float, default=240.0, help="seconds")
    ap.add_argument("--ckpt-every", type=float, default=300.0, help="seconds")
    ap.add_argument("--log-every", type=int, default=10, help="steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.work, "tokenizer.model"))
    margs = ModelArgs(dim=a.dim, n_layers=a.n_layers, n_heads=a.n_heads, n_kv_heads=a.n_kv_heads,
                      hidden_dim=a.hidden_dim, vocab_size=sp.vocab_size(), max_seq_len=a.seq_len)
    model = Transformer(margs)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    train_ch = load_chapters(os.path.join(a.work, "train.jsonl"))
    val_ch = load_chapters(os.path.join(a.work, "val.jsonl"))
    vx, vy, n_val_tokens = val_windows(val_ch, sp, a.seq_len)
    n_train_tokens = sum(len(sp.encode("\n".join(vs))) + 1 for vs in train_ch)
    sampler = Sampler(train_ch, sp, a.seq_len, a.seed)

    step, tokens, elapsed0 = 0, 0, 0.0
    history = []
    ckpt_path = os.path.join(a.work, "ckpt.pt")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, tokens, elapsed0, history = ck["step"], ck["tokens"], ck["elapsed"], ck["history"]
        sampler.rng.setstate(ck["rng"])
        print("resumed at step %d, %d tokens, %.0f s" % (step, tokens, elapsed0))

    print("params %d (%.2fM), train tokens %d, val tokens %d, args %s"
          % (model.n_params(), model.n_params() / 1e6, n_train_tokens, n_val_tokens, vars(a)),
          flush=True)

    t0 = time.time() - elapsed0
    last_eval = last_ckpt = time.time()
    budget = a.time_budget * 60.0
    run_loss, run_n = 0.0, 0
    model.train()
    while True:
        elapsed = time.time() - t0
        progress = max(tokens / a.max_tokens, elapsed / budget)
        if progress >= 1.0:
            break
        lr = lr_at(progress, step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = sampler.batch(a.batch)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        tokens += x.numel()
        run_loss += loss.item()
        run_n += 1
        if step % a.log_every == 0:
            el = time.time() - t0
            print("step %5d  tokens %8d  epoch %.2f  loss %.4f  lr %.2e  gnorm %.2f  %.0f tok/s  %.1f min"
                  % (step, tokens, tokens / n_train_tokens, run_loss / run_n, lr, gn,
                     tokens / max(el, 1e-9), el / 60), flush=True)
            history.append({"step": step, "tokens": tokens, "train_loss": run_loss / run_n,
                            "minutes": el / 60})
            run_loss, run_n = 0.0, 0
        now = time.time()
        if now - last_eval > a.eval_every:
            vl = evaluate(model, vx, vy, limit=24)
            print("step %5d  val loss (24 windows) %.4f" % (step, vl), flush=True)
            history.append({"step": step, "tokens": tokens, "val_loss_24": vl,
                            "minutes": (now - t0) / 60})
            last_eval = time.time()
        if now - last_ckpt > a.ckpt_every:
            save(ckpt_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                             "tokens": tokens, "elapsed": time.time() - t0, "history": history,
                             "rng": sampler.rng.getstate(), "model_args": margs.to_dict()})
            last_ckpt = time.time()
            print("checkpoint saved", flush=True)

    train_minutes = (time.time() - t0) / 60
    save(ckpt_path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                     "tokens": tokens, "elapsed": time.time() - t0, "history": history,
                     "rng": sampler.rng.getstate(), "model_args": margs.to_dict()})
    print("training done: %d steps, %d tokens, %.1f min; evaluating..." % (step, tokens, train_minutes),
          flush=True)
    val_loss = evaluate(model, vx, vy)
    # train loss measured the same way as val: fixed windows over the first training chapters
    tx, ty, _ = val_windows(train_ch[: len(val_ch) * 2], sp, a.seq_len)
    train_loss = evaluate(model, tx, ty, limit=vx.size(0))
    print("final: train loss %.4f  val loss %.4f (ppl %.2f)" % (train_loss, val_loss, math.exp(val_loss)),
          flush=True)
    save(os.path.join(a.work, "final.pt"), {"model": model.state_dict(), "model_args": margs.to_dict()})
    summary = {"model_args": margs.to_dict(), "n_params": model.n_params(), "steps": step,
               "tokens_seen": tokens, "train_tokens_per_epoch": n_train_tokens,
               "epochs": tokens / n_train_tokens, "val_tokens": n_val_tokens,
               "train_minutes": train_minutes, "final_train_loss": train_loss,
               "final_val_loss": val_loss, "last_running_train_loss":
               next((h["train_loss"] for h in reversed(history) if "train_loss" in h), None),
               "hyper": vars(a), "torch": torch.__version__, "history": history}
    with open(os.path.join(a.work, "train_summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
