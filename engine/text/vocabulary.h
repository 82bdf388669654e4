// A model's vocabulary as stored under tokenizer.ggml.* in GGUF: pieces, scores, token types, special ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

class GgufFile;
class GgufWriter;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
};

struct Vocabulary {
    std::string model = "llama"; // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE)
    std::string pre; // tokenizer.ggml.pre: which pre-tokenizer split a gpt2 vocabulary uses ("" if absent)
    std::vector<std::string> tokens; // pieces as stored (SentencePiece uses U+2581 for space)
    std::vector<float> scores; // same length as tokens (zeros if absent in the file)
    std::vector<TokenType> types; // same length as tokens (Normal if absent)
    std::vector<std::string> merges; // tokenizer.ggml.merges ("left right", rank = index); gpt2 only
    std::string chatTemplate; // tokenizer.chat_template (Jinja source), "" if absent
    int32_t bosId = -1;
    int32_t eosId = -1;
    int32_t unkId = -1;
    int32_t padId = -1;
    // Defaults are the llama kind's. fromGguf applies llama.cpp's defaults for gpt2 files when the keys are absent:
    // no space prefix, and BOS only for the Llama-3 style pre-tokenizers (Qwen2 and GPT-2 files add none).
    bool addBos = true; // tokenizer.ggml.add_bos_token
    bool addEos = false; // tokenizer.ggml.add_eos_token
    bool addSpacePrefix = true; // tokenizer.ggml.add_space_prefix (SentencePiece's dummy prefix; ignored by gpt2)

    // Reads tokenizer.ggml.* and tokenizer.chat_template; works on vocab-only files. Throws ModelFileError on
    // missing or inconsistent data (e.g. arrays of different lengths, special ids out of range).
    static Vocabulary fromGguf(const GgufFile& file);
    // Writes the same keys back (used by the synthetic models and tests). Special ids < 0 and empty
    // pre / merges / chat template are left out.
    void writeTo(GgufWriter& writer) const;
    size_t size() const { return tokens.size(); }
};

} // namespace engine
