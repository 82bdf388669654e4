# The fuzz targets, one fuzz/<target>.cpp each (read by fuzz/CMakeLists.txt, tests/CMakeLists.txt and, by name,
# scripts/fuzz.sh).
set(PLAYGROUND_FUZZ_TARGETS gguf tokenizer_spm tokenizer_bpe chat_template session trace_json)
