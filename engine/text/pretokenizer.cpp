#include "engine/text/pretokenizer.h"

#include <algorithm>
#include <vector>

namespace engine {

namespace {

// --- pre-tokenizer patterns, as in llama.cpp's llm_tokenizer_bpe (from each model's tokenizer.json). PCRE2 takes
// the originals, including (?i:...) and possessive quantifiers, which llama.cpp had to rewrite for std::regex.
// Checked against Python's `regex` module on random text: identical splits, except where the Unicode tables
// differ (characters newer than PCRE2's tables; PCRE2 counts U+180E MONGOLIAN VOWEL SEPARATOR as \s).

// GPT-2 (OpenAI's encoder.py): contractions, letters / digits / other with one optional leading space, then
// whitespace runs that leave the last space to the following word.
constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama-3 (tiktoken cl100k style): case-insensitive contractions, a word may take one leading non-letter,
// digits in groups of up to three, newlines kept together.
constexpr std::string_view kLlama3
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: Llama-3's split with single digits.
constexpr std::string_view kQwen2
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen35
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kGpt4o
    = R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
      R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
      R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kTekken = R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
                                     R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
                                     R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kSeedCoder
    = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kBailing
    = R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr std::string_view kDeepseek3Words
    = R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+)"
      R"(| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// BLOOM / Poro: anything up to whitespace or sentence punctuation (… 。 ， 、 । ۔ ،).
constexpr std::string_view kBloom = R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)";

struct PreTokenizerEntry {
    std::vector<std::string_view> names; // tokenizer.ggml.pre values (llama.cpp's llama_vocab::load)
    BpePreTokenizer spec;
};

const std::vector<PreTokenizerEntry>& preTokenizerTable()
{
    static const std::vector<PreTokenizerEntry> table = {
        { { "gpt2", "gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de",
              "jina-v1-en", "jina-v2-code", "roberta-bpe", "gigachat", "a.x-4.0", "mellum", "exaone4", "trillion",
              "granite-docling" },
            { "gpt2", { kGpt2 }, false, false } },
        // llama.cpp's fallback split: punctuation runs and digit groups cut before GPT-2's split.
        { { "default" },
            { "default", { R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])" }, false, false } },
        { { "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2" },
            { "llama3", { kLlama3 }, true, true } },
        { { "dbrx", "smaug-bpe", "glm4", "chatglm-bpe" }, { "dbrx", { kLlama3 }, false, false } },
        { { "qwen2", "deepseek-r1-qwen", "kormo", "stablelm2", "hunyuan", "megrez", "grok-2" },
            { "qwen2", { kQwen2 }, false, false } },
        { { "qwen35" }, { "qwen35", { kQwen35 }, false, false } },
        // HF's Sequence[Digits(individual_digits), ByteLevel]: every digit alone, then GPT-2's split.
        { { "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" },
            { "starcoder", { R"(\p{N})", kGpt2 }, false, false } },
        { { "falcon" }, { "falcon", { R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, R"([0-9][0-9][0-9])" }, false, false } },
        { { "deepseek-coder" },
            { "deepseek-coder",
                { R"([\r\n])", R"(\s?\p{L}+)", R"(\s?\p{P}+)",
                    R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)", R"(\p{N})" },
                false, false } },
        { { "deepseek-v3", "hunyuan-dense" },
            { "deepseek-v3",
                { R"(\p{N}{1,3})", R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)", kDeepseek3Words },
                false, false } },
        { { "gpt-4o", "llama4", "minimax-m2" }, { "gpt-4o", { kGpt4o }, false, false } },
        { { "tekken" }, { "tekken", { kTekken }, true, true } },
        { { "poro-chat", "bloom", "gpt3-finnish" }, { "bloom", { kBloom }, false, false } },
        { { "viking" }, { "viking", { kBloom, R"(\p{N})" }, false, false } },
        { { "seed-coder" }, { "seed-coder", { kSeedCoder }, false, false } },
        { { "bailingmoe", "bailingmoe2", "llada-moe" }, { "bailingmoe", { kBailing }, false, false } },
    };
    return table;
}

} // namespace

const BpePreTokenizer* findBpePreTokenizer(std::string_view pre)
{
    for (const PreTokenizerEntry& entry : preTokenizerTable()) {
        if (std::find(entry.names.begin(), entry.names.end(), pre) != entry.names.end())
            return &entry.spec;
    }
    return nullptr;
}

const BpePreTokenizer& bpePreTokenizer(std::string_view pre)
{
    const BpePreTokenizer* found = findBpePreTokenizer(pre);
    return found ? *found : *findBpePreTokenizer("gpt2");
}

} // namespace engine
