// Byte-level BPE (tokenizer.ggml.model = "gpt2"): GPT-2's byte-to-unicode alphabet, the regex pre-tokenizer named
// by tokenizer.ggml.pre, and merges applied lowest rank first, as HF tokenizers and llama.cpp's llm_tokenizer_bpe do.
#pragma once

#include "engine/text/pretokenizer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace engine {

struct Vocabulary;

// The gpt2 vocabulary kind below the special-token split (the Tokenizer matches special tokens first and hands only
// the text between them to encode()). Immutable once built, so one instance may serve several threads.
class BytePairEncoding {
public:
    // Builds the lookup tables from vocab.tokens / types / merges / pre. Merges that name pieces the vocabulary does
    // not have are skipped (they could never apply). Throws std::runtime_error if a pattern fails to compile.
    explicit BytePairEncoding(const Vocabulary& vocab);
    ~BytePairEncoding();
    BytePairEncoding(const BytePairEncoding&) = delete;
    BytePairEncoding& operator=(const BytePairEncoding&) = delete;

    // Appends the ids of `text` (which holds no special tokens) to `out`. Every byte is kept: invalid UTF-8 bytes
    // become words of their own and map through the byte alphabet like any other byte.
    void encode(std::string_view text, std::vector<int32_t>& out) const;

    // The words BPE runs on: each maximal valid UTF-8 run split by the pre-tokenizer's patterns, each invalid byte
    // alone. Concatenated they give `text` back.
    std::vector<std::string_view> preTokenize(std::string_view text) const;

    // The bytes a stored piece stands for: each character of GPT-2's alphabet back to its byte; a character outside
    // the alphabet (not produced by byte-level BPE) is kept as its UTF-8.
    std::string pieceBytes(std::string_view piece) const;

    // Raw bytes -> the piece spelling used in vocabularies and merges (' ' -> "Ġ", '\n' -> "Ċ", 'a' -> "a").
    static std::string bytesToPiece(std::string_view bytes);

    const BpePreTokenizer& preTokenizer() const { return m_pre; }
    size_t mergeCount() const { return m_merges.size(); } // merges usable with this vocabulary

private:
    struct Regex;
    struct Merge {
        int32_t rank;
        int32_t result; // id of the merged piece
    };

    void splitRun(std::string_view run, std::vector<std::string_view>& words) const;
    void encodeWord(std::string_view word, std::vector<int32_t>& out) const;
    int32_t byteId(unsigned char byte) const; // byte's token, or the unknown token, or -1

    const BpePreTokenizer& m_pre;
    std::vector<std::unique_ptr<Regex>> m_regexes; // one per pattern, compiled (and JIT-compiled) once
    std::unordered_map<std::string, int32_t> m_pieceToId; // non-control pieces (first id wins)
    std::unordered_map<uint64_t, Merge> m_merges; // (left id << 32 | right id) -> rank and result
    int32_t m_byteTokens[256]; // byte -> id of its one-character piece, -1 if missing
    int32_t m_unkId = -1;
};

} // namespace engine
