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
    std::string model = "llama"; // tokenizer.ggml.model
    std::vector<std::string> tokens; // pieces as stored (SentencePiece uses U+2581 for space)
    std::vector<float> scores;       // same length as tokens (zeros if absent in the file)
    std::vector<TokenType> types;    // same length as tokens (Normal if absent)
    int32_t bosId = -1;
    int32_t eosId = -1;
    int32_t unkId = -1;
    int32_t padId = -1;
    bool addBos = true;        // tokenizer.ggml.add_bos_token
    bool addEos = false;       // tokenizer.ggml.add_eos_token
    bool addSpacePrefix = true; // tokenizer.ggml.add_space_prefix (SentencePiece's dummy prefix)

    // Reads tokenizer.ggml.*; works on vocab-only files. Throws ModelFileError on missing or
    // inconsistent data (e.g. arrays of different lengths, special ids out of range).
    static Vocabulary fromGguf(const GgufFile& file);
    // Writes the same keys back (used by the synthetic models and tests). Special ids < 0 are left out.
    void writeTo(GgufWriter& writer) const;
    size_t size() const { return tokens.size(); }
};

} // namespace engine
