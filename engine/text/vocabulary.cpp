#include "engine/text/vocabulary.h"

#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/text/pretokenizer.h"

namespace engine {

namespace {

// A special token id: absent (or -1, which some converters write for "none") gives -1; anything else must
// name a token of the vocabulary.
int32_t readSpecialId(const GgufFile& file, const char* key, size_t vocabSize)
{
    const GgufValue* value = file.find(key);
    if (!value)
        return -1;
    if (!value->isInteger()) {
        throw ModelFileError(file.path(),
            std::string("key ") + key + " has type " + ggufValueTypeName(value->type())
                + ", expected an integer token id");
    }
    const int64_t id = value->asInt();
    if (id == -1)
        return -1;
    if (id < 0 || uint64_t(id) >= vocabSize) {
        throw ModelFileError(file.path(),
            std::string("key ") + key + " is " + std::to_string(id) + ", outside the vocabulary of "
                + std::to_string(vocabSize) + " tokens");
    }
    return int32_t(id);
}

} // namespace

Vocabulary Vocabulary::fromGguf(const GgufFile& file)
{
    Vocabulary vocab;
    vocab.model = file.getString("tokenizer.ggml.model");
    vocab.pre = file.getString("tokenizer.ggml.pre", "");
    vocab.tokens = file.getStringArray("tokenizer.ggml.tokens");
    const size_t n = vocab.tokens.size();
    if (n == 0)
        throw ModelFileError(file.path(), "key tokenizer.ggml.tokens is an empty array: the vocabulary has no tokens");

    if (file.has("tokenizer.ggml.scores")) {
        vocab.scores = file.getFloatArray("tokenizer.ggml.scores");
        if (vocab.scores.size() != n) {
            throw ModelFileError(file.path(),
                "key tokenizer.ggml.scores has " + std::to_string(vocab.scores.size())
                    + " entries but tokenizer.ggml.tokens has " + std::to_string(n));
        }
    } else {
        vocab.scores.assign(n, 0.0f);
    }

    if (file.has("tokenizer.ggml.token_type")) {
        const std::vector<int32_t> types = file.getIntArray("tokenizer.ggml.token_type");
        if (types.size() != n) {
            throw ModelFileError(file.path(),
                "key tokenizer.ggml.token_type has " + std::to_string(types.size())
                    + " entries but tokenizer.ggml.tokens has " + std::to_string(n));
        }
        vocab.types.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            if (types[i] < int32_t(TokenType::Undefined) || types[i] > int32_t(TokenType::Byte)) {
                throw ModelFileError(file.path(),
                    "key tokenizer.ggml.token_type: token " + std::to_string(i) + " has type "
                        + std::to_string(types[i]) + ", expected 0..6");
            }
            vocab.types.push_back(TokenType(types[i]));
        }
    } else {
        vocab.types.assign(n, TokenType::Normal);
    }

    vocab.bosId = readSpecialId(file, "tokenizer.ggml.bos_token_id", n);
    vocab.eosId = readSpecialId(file, "tokenizer.ggml.eos_token_id", n);
    vocab.unkId = readSpecialId(file, "tokenizer.ggml.unknown_token_id", n);
    vocab.padId = readSpecialId(file, "tokenizer.ggml.padding_token_id", n);

    if (file.has("tokenizer.ggml.merges"))
        vocab.merges = file.getStringArray("tokenizer.ggml.merges");
    vocab.chatTemplate = file.getString("tokenizer.chat_template", "");

    if (vocab.model == "gpt2") {
        // llama.cpp's defaults for byte-level BPE files that leave the keys out.
        vocab.addBos = bpePreTokenizer(vocab.pre).addsBos;
        vocab.addSpacePrefix = false;
    }
    vocab.addBos = file.getBool("tokenizer.ggml.add_bos_token", vocab.addBos);
    vocab.addEos = file.getBool("tokenizer.ggml.add_eos_token", vocab.addEos);
    vocab.addSpacePrefix = file.getBool("tokenizer.ggml.add_space_prefix", vocab.addSpacePrefix);
    return vocab;
}

void Vocabulary::writeTo(GgufWriter& writer) const
{
    writer.setString("tokenizer.ggml.model", model);
    if (!pre.empty())
        writer.setString("tokenizer.ggml.pre", pre);
    writer.setStringArray("tokenizer.ggml.tokens", tokens);
    if (!scores.empty())
        writer.setFloat32Array("tokenizer.ggml.scores", scores);
    if (!types.empty()) {
        std::vector<int32_t> typeValues;
        typeValues.reserve(types.size());
        for (TokenType type : types)
            typeValues.push_back(int32_t(type));
        writer.setInt32Array("tokenizer.ggml.token_type", typeValues);
    }
    if (!merges.empty())
        writer.setStringArray("tokenizer.ggml.merges", merges);
    if (!chatTemplate.empty())
        writer.setString("tokenizer.chat_template", chatTemplate);
    const std::pair<const char*, int32_t> ids[] = {
        { "tokenizer.ggml.bos_token_id", bosId },
        { "tokenizer.ggml.eos_token_id", eosId },
        { "tokenizer.ggml.unknown_token_id", unkId },
        { "tokenizer.ggml.padding_token_id", padId },
    };
    for (const auto& [key, id] : ids) {
        if (id >= 0)
            writer.setUInt32(key, uint32_t(id));
    }
    writer.setBool("tokenizer.ggml.add_bos_token", addBos);
    writer.setBool("tokenizer.ggml.add_eos_token", addEos);
    writer.setBool("tokenizer.ggml.add_space_prefix", addSpacePrefix);
}

} // namespace engine
