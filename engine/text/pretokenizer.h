// The byte-level BPE pre-tokenizers: tokenizer.ggml.pre names (llama.cpp's) to regex splits and file defaults.
#pragma once

#include <string_view>
#include <vector>

namespace engine {

// How the pre-tokenizer named by tokenizer.ggml.pre cuts text into words before BPE. The patterns are applied in
// order, each one splitting every piece the previous ones left (text between matches stays a piece of its own),
// exactly as llama.cpp's unicode_regex_split does.
struct BpePreTokenizer {
    std::string_view name; // canonical name: "gpt2", "llama3", "qwen2", "starcoder", ...
    std::vector<std::string_view> patterns; // PCRE2 syntax, compiled with PCRE2_UTF | PCRE2_UCP
    bool ignoreMerges = false; // a word that is itself a vocabulary piece is emitted whole (Llama-3)
    bool addsBos = false; // llama.cpp's add_bos_token default for files that leave the key out
};

// The pre-tokenizer for a tokenizer.ggml.pre value (llama.cpp's names), or nullptr if the name is not known.
const BpePreTokenizer* findBpePreTokenizer(std::string_view pre);
// As findBpePreTokenizer, but an unknown or empty name gives GPT-2's split, so any gpt2 file can be tokenised.
const BpePreTokenizer& bpePreTokenizer(std::string_view pre);

} // namespace engine
