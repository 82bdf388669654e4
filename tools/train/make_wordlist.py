#!/usr/bin/env python3
"""Writes the corpus vocabulary (lower-cased words) that the default-model quality test checks against.

Usage: tools/train/make_wordlist.py tools/train/work/train.txt tools/train/work/val.txt > tests/data/default_model_words.txt
A "word" is a maximal run of letters (apostrophes inside a word are kept: "LORD's" -> "lord's").
"""
import re
import sys

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")


def main() -> None:
    words = set()
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                words.update(w.lower() for w in WORD.findall(line))
    sys.stdout.write("".join(w + "\n" for w in sorted(words)))


if __name__ == "__main__":
    main()
