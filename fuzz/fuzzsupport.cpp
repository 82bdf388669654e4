#include "fuzzsupport.h"

#include "engine/format/gguffile.h"
#include "engine/text/bpe.h"

#include <array>
#include <memory>
#include <set>

namespace fuzz {

const engine::Tokenizer& sentencePieceTokenizer()
{
    static const engine::Tokenizer tokenizer = [] {
        const auto file = engine::GgufFile::open(PLAYGROUND_RESOURCE_DIR "/models/playground-kjv.gguf");
        engine::Vocabulary v = engine::Vocabulary::fromGguf(file);
        auto add = [&](const char* piece, engine::TokenType type) {
            v.tokens.emplace_back(piece);
            v.scores.push_back(0.0f);
            v.types.push_back(type);
        };
        add("<|im_start|>", engine::TokenType::Control);
        add("<|im_end|>", engine::TokenType::Control);
        add("<|eot_id|>", engine::TokenType::Control);
        add("<tool>", engine::TokenType::UserDefined);
        add("<unused0>", engine::TokenType::Unused);
        return engine::Tokenizer(std::move(v));
    }();
    return tokenizer;
}

namespace {

constexpr std::array kPreTokenizers { "gpt2", "llama3", "qwen2", "qwen35", "starcoder", "deepseek-coder", "deepseek-v3",
    "gpt-4o", "tekken", "bloom", "dbrx", "default" };

engine::Vocabulary byteLevelVocabulary(const char* pre)
{
    engine::Vocabulary v;
    v.model = "gpt2";
    v.pre = pre;
    v.addBos = false;
    v.addSpacePrefix = false;
    std::set<std::string> have;
    auto add = [&](const std::string& piece, engine::TokenType type) {
        if (!have.insert(piece).second)
            return;
        v.tokens.push_back(piece);
        v.scores.push_back(0.0f);
        v.types.push_back(type);
    };
    for (int b = 0; b < 256; ++b)
        add(engine::BytePairEncoding::bytesToPiece(std::string(1, char(b))), engine::TokenType::Normal);
    // Each word merged left to right, one character at a time: every prefix becomes a piece and a merge.
    for (const char* word :
        { "the", " the", " and", "ing", " hello", " world", "\n\n", "    ", "123", " über", "日本語", " 🙂" }) {
        const std::string bytes = word;
        std::string left = engine::BytePairEncoding::bytesToPiece(bytes.substr(0, 1));
        for (size_t i = 1; i < bytes.size(); ++i) {
            const std::string right = engine::BytePairEncoding::bytesToPiece(bytes.substr(i, 1));
            v.merges.push_back(left + " " + right);
            left += right;
            add(left, engine::TokenType::Normal);
        }
    }
    v.eosId = int32_t(v.tokens.size());
    add("<|endoftext|>", engine::TokenType::Control);
    add("<|im_start|>", engine::TokenType::Control);
    add("<|im_end|>", engine::TokenType::Control);
    add("<think>", engine::TokenType::UserDefined);
    add("[UNUSED]", engine::TokenType::Unused);
    return v;
}

} // namespace

const engine::Tokenizer& byteLevelTokenizer(unsigned which)
{
    static std::array<std::unique_ptr<engine::Tokenizer>, kPreTokenizers.size()> tokenizers;
    auto& t = tokenizers[which % kPreTokenizers.size()];
    if (!t)
        t = std::make_unique<engine::Tokenizer>(byteLevelVocabulary(kPreTokenizers[which % kPreTokenizers.size()]));
    return *t;
}

size_t byteLevelTokenizerCount() { return kPreTokenizers.size(); }

} // namespace fuzz
