#!/usr/bin/env python3
"""Extract and clean the King James Bible text for training.

Source: Debian packages `bible-kjv` (the `bible` reader) and `bible-kjv-text`
(the compressed KJV text it reads). See README.md for licence notes.

`bible -f <range>` turns pretty-printing off, which makes the reader print one
verse per line, each preceded by its reference ("Ge1:1 In the beginning ...").
We drop that reference, normalise whitespace and keep the English text with
its punctuation.  Verses are grouped into chapters; one chapter is one
training document (verses joined with "\n").

Split: every 20th chapter (chapters 10, 30, 50, ... in canonical order) goes
to the validation set, the rest to training.  Output (tools/train/work/):
  train.jsonl / val.jsonl : one chapter per line, {"ref": "Ge 1", "verses": [...]}
  train.txt                : one verse per line (input for the tokenizer)
  val.txt                  : same for validation
"""
import argparse
import json
import os
import re
import subprocess
import sys

REF_RE = re.compile(r"^(?P<book>[1-3]?[A-Za-z]+)(?P<ch>\d+):(?P<vs>\d+) (?P<text>.*)$")


def extract_raw():
    out = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True,
                         capture_output=True)
    return out.stdout.decode("utf-8")


def clean_verse(text):
    text = text.replace("\t", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return text


def parse(raw):
    chapters = []  # list of (ref, [verses])
    last_key = None
    for line in raw.splitlines():
        line = line.rstrip("\n")
        if not line.strip():
            continue
        m = REF_RE.match(line)
        if not m:
            raise SystemExit("unexpected line from bible: %r" % line[:80])
        key = (m.group("book"), int(m.group("ch")))
        text = clean_verse(m.group("text"))
        if not text:
            continue
        if key != last_key:
            chapters.append(("%s %d" % key, []))
            last_key = key
        chapters[-1][1].append(text)
    return chapters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"))
    ap.add_argument("--val-every", type=int, default=20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    chapters = parse(extract_raw())
    n_verses = sum(len(v) for _, v in chapters)
    if n_verses < 31000:
        raise SystemExit("expected ~31102 verses, got %d" % n_verses)

    train, val = [], []
    for i, ch in enumerate(chapters):
        (val if (i % args.val_every) == args.val_every // 2 else train).append(ch)

    for name, part in (("train", train), ("val", val)):
        with open(os.path.join(args.out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for ref, verses in part:
                f.write(json.dumps({"ref": ref, "verses": verses}, ensure_ascii=False) + "\n")
        with open(os.path.join(args.out, name + ".txt"), "w", encoding="utf-8") as f:
            for _, verses in part:
                for v in verses:
                    f.write(v + "\n")
        nv = sum(len(v) for _, v in part)
        nw = sum(len(x.split()) for _, v in part for x in v)
        print("%s: %d chapters, %d verses, %d words" % (name, len(part), nv, nw))
    print("total: %d chapters, %d verses" % (len(chapters), n_verses))


if __name__ == "__main__":
    main()
