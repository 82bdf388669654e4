#!/bin/sh
# Reproduce resources/models/playground-kjv.gguf and tests/data/default_model_reference.json
# from scratch: corpus -> tokenizer -> training -> GGUF export -> reference outputs + REPORT.md.
# Needs: scripts/deps.sh --train  (python3-torch, python3-sentencepiece, python3-numpy,
# libopenblas0-pthread, bible-kjv, bible-kjv-text).  ~1 hour on 2 cores.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3            # Debian's python with python3-torch, not a venv's
THREADS=${THREADS:-2}
BUDGET_MIN=${BUDGET_MIN:-55}    # training wall-time budget; the LR schedule anneals within it
export OMP_WAIT_POLICY=PASSIVE  # the machine is shared: don't spin on idle cores

$PY prepare_corpus.py
$PY train_tokenizer.py
nice -n 10 $PY train.py --threads "$THREADS" --time-budget "$BUDGET_MIN" "$@"
$PY export_gguf.py --checkpoint work/final.pt --out ../../resources/models/playground-kjv.gguf
nice -n 10 $PY make_reference.py --model ../../resources/models/playground-kjv.gguf \
    --out ../../tests/data/default_model_reference.json --report ../../resources/models/REPORT.md
