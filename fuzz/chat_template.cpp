// Fuzz target: chat template rendering and tokenising. Input: a family byte, a flags byte (tokenizer kind,
// add_generation_prompt), then NUL-separated strings: the system prompt, the EOS piece, then up to 16 messages
// (user first, alternating); the last string is also given to detectChatTemplate as Jinja text.
// Messages are plain text whatever they hold: no control token may come from a message's characters, so the
// number of control tokens in a rendering must not change when the messages are emptied. Nothing here documents
// an exception for any input, so every exception is a finding.
#include "fuzzsupport.h"

#include "engine/text/chattemplate.h"

#include <cstdlib>

namespace {

constexpr int kFamilies = int(engine::ChatTemplate::Gemma) + 1;

size_t controlTokens(const engine::Tokenizer& tokenizer, const std::vector<int32_t>& ids)
{
    size_t n = 0;
    for (const int32_t id : ids)
        n += tokenizer.vocab().types[size_t(id)] == engine::TokenType::Control && id != tokenizer.bos();
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    fuzz::FuzzBytes in(data, size);
    const auto family = engine::ChatTemplate(in.byte() % kFamilies);
    const uint8_t flags = in.byte();
    const engine::Tokenizer& tokenizer
        = (flags & 1) ? fuzz::byteLevelTokenizer(flags >> 4) : fuzz::sentencePieceTokenizer();
    const bool addGenerationPrompt = (flags & 2) != 0;
    const std::string system = in.until('\0');
    std::string eos = in.until('\0', 64);
    if (eos.empty())
        eos = "</s>";
    std::vector<engine::ChatMessage> messages;
    while (in.remaining() > 0 && messages.size() < 16)
        messages.push_back(
            { messages.size() % 2 ? engine::ChatRole::Assistant : engine::ChatRole::User, in.until('\0') });

    const auto name = engine::chatTemplateName(family);
    if (engine::chatTemplateFromName(name) != family || engine::detectChatTemplate(name) != family)
        std::abort();
    if (!messages.empty())
        (void)engine::detectChatTemplate(messages.back().content);

    const engine::ChatPrompt history = engine::formatChatHistory(family, system, messages, addGenerationPrompt, eos);
    const std::vector<int32_t> ids = engine::encodeChatPrompt(tokenizer, history);
    for (const int32_t id : ids)
        if (id < 0 || id >= tokenizer.size())
            std::abort();

    // The same conversation with empty messages and a control-free system prompt ("x" keeps a system turn where
    // there was one): the markers alone give the control tokens.
    std::vector<engine::ChatMessage> empty = messages;
    for (auto& m : empty)
        m.content.clear();
    const auto bare = engine::encodeChatPrompt(
        tokenizer, engine::formatChatHistory(family, system.empty() ? "" : "x", empty, addGenerationPrompt, eos));
    if (controlTokens(tokenizer, ids) != controlTokens(tokenizer, bare))
        std::abort();

    const std::string user = messages.empty() ? std::string() : messages.front().content;
    const engine::ChatPrompt one = engine::formatChatPrompt(family, system, user, eos);
    if (one.text() != engine::applyChatTemplate(family, system, user, eos))
        std::abort();
    (void)engine::encodeChatPrompt(tokenizer, one);
    return 0;
}
