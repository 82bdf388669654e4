#!/usr/bin/env python3
"""Train the SentencePiece BPE tokenizer on the training split.

Each training "sentence" is one whole chapter with its verses joined by "\n",
so "\n" is an ordinary character of the corpus: with character_coverage 1.0 it
becomes a normal piece ("\n", and merges such as ".\n"), and verse-initial
words without the "▁" prefix ("And") are learned as pieces too.  Anything not
in the vocabulary (digits, accented letters, emoji, CJK) falls back to the
byte pieces <0x00>..<0xFF>.

Piece layout: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3..258 <0x00>..<0xFF>, then
the merged pieces; scores are what sentencepiece reports (sp.GetScore).
"""
import argparse
import json
import os

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(HERE, "work"))
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args()

    docs = []
    with open(os.path.join(args.work, "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            docs.append("\n".join(json.loads(line)["verses"]))

    prefix = os.path.join(args.work, "tokenizer")
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(docs),
        model_prefix=prefix,
        model_type="bpe",
        vocab_size=args.vocab_size,
        byte_fallback=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        split_digits=True,
        remove_extra_whitespaces=False,
        character_coverage=1.0,
        max_sentence_length=200000,   # whole chapters (Psalm 119 is ~30 kB)
        input_sentence_size=0,        # use every chapter
        shuffle_input_sentence=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    assert sp.vocab_size() == args.vocab_size
    assert sp.id_to_piece(0) == "<unk>" and sp.IsUnknown(0)
    assert sp.id_to_piece(1) == "<s>" and sp.IsControl(1) and sp.bos_id() == 1
    assert sp.id_to_piece(2) == "</s>" and sp.IsControl(2) and sp.eos_id() == 2
    for b in range(256):
        assert sp.id_to_piece(3 + b) == "<0x%02X>" % b and sp.IsByte(3 + b)
    nl = sp.piece_to_id("\n")
    print("tokenizer: %s.model, vocab %d, '\\n' piece id %s" % (prefix, sp.vocab_size(), nl))
    s = "In the beginning God created the heaven and the earth.\nAnd the earth was without form"
    ids = sp.encode(s)
    print(ids)
    print([sp.id_to_piece(i) for i in ids])
    assert sp.decode(ids) == s


if __name__ == "__main__":
    main()
