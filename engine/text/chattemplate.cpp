#include "engine/text/chattemplate.h"

#include "engine/format/gguffile.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"

namespace engine {

namespace {

bool contains(std::string_view haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string_view::npos;
}

// Jinja's `| trim` and Python's str.strip(): the templates that apply them strip ASCII whitespace at both ends.
std::string trim(const std::string& s)
{
    constexpr std::string_view whitespace = " \t\n\r\f\v";
    const size_t begin = s.find_first_not_of(whitespace);
    if (begin == std::string::npos)
        return {};
    const size_t end = s.find_last_not_of(whitespace);
    return s.substr(begin, end - begin + 1);
}

struct NamedTemplate {
    ChatTemplate family;
    const char* name;
};
constexpr NamedTemplate kNames[] = {
    { ChatTemplate::None, "none" },
    { ChatTemplate::ChatML, "chatml" },
    { ChatTemplate::Llama2, "llama2" },
    { ChatTemplate::Mistral, "mistral" },
    { ChatTemplate::Llama3, "llama3" },
    { ChatTemplate::Zephyr, "zephyr" },
    { ChatTemplate::Phi3, "phi3" },
    { ChatTemplate::Phi4, "phi4" },
    { ChatTemplate::Gemma, "gemma" },
};

} // namespace

// The order matters where families share markers, as in llama.cpp's llm_chat_detect_template: Phi-4 is ChatML with
// <|im_sep|>; Phi-3 has Zephyr's <|user|> / <|assistant|> plus <|end|>.
ChatTemplate detectChatTemplate(std::string_view jinja)
{
    if (jinja.empty())
        return ChatTemplate::None;
    if (contains(jinja, "<|im_start|>"))
        return contains(jinja, "<|im_sep|>") ? ChatTemplate::Phi4 : ChatTemplate::ChatML;
    if (contains(jinja, "[INST]"))
        return contains(jinja, "<<SYS>>") ? ChatTemplate::Llama2 : ChatTemplate::Mistral;
    if (contains(jinja, "<|start_header_id|>") && contains(jinja, "<|end_header_id|>"))
        return ChatTemplate::Llama3;
    if (contains(jinja, "<|user|>") && contains(jinja, "<|end|>"))
        return ChatTemplate::Phi3;
    if (contains(jinja, "<|user|>") && (contains(jinja, "<|assistant|>") || contains(jinja, "<|endoftext|>")))
        return ChatTemplate::Zephyr;
    if (contains(jinja, "<start_of_turn>"))
        return ChatTemplate::Gemma;
    return ChatTemplate::None;
}

ChatTemplate detectChatTemplate(const Vocabulary& vocab) { return detectChatTemplate(vocab.chatTemplate); }

ChatTemplate detectChatTemplate(const GgufFile& file)
{
    return detectChatTemplate(file.getString("tokenizer.chat_template", ""));
}

const char* chatTemplateName(ChatTemplate family)
{
    for (const NamedTemplate& named : kNames) {
        if (named.family == family)
            return named.name;
    }
    return "none";
}

std::optional<ChatTemplate> chatTemplateFromName(std::string_view name)
{
    for (const NamedTemplate& named : kNames) {
        if (name == named.name)
            return named.family;
    }
    return std::nullopt;
}

// Each case is what the family's reference template renders for [system?, user] with add_generation_prompt.
// Not reproduced: defaults some templates inject on their own (Qwen2.5's "You are Qwen..." system prompt when none is
// given, Llama-3.1's "Cutting Knowledge Date" lines).
std::string applyChatTemplate(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece)
{
    const bool hasSystem = !system.empty();
    std::string out;
    switch (family) {
    case ChatTemplate::None:
        return user;
    case ChatTemplate::ChatML:
        if (hasSystem)
            out += "<|im_start|>system\n" + system + "<|im_end|>\n";
        out += "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
        return out;
    case ChatTemplate::Llama2:
        // Meta's template: bos + '[INST] ' + content.strip() + ' [/INST]', the system prompt inside the first turn.
        out = "[INST] ";
        if (hasSystem)
            out += "<<SYS>>\n" + trim(system) + "\n<</SYS>>\n\n";
        out += trim(user) + " [/INST]";
        return out;
    case ChatTemplate::Mistral:
        // Mistral's templates have no <<SYS>> block; v0.2+ put the system prompt before the user text.
        out = "[INST] ";
        if (hasSystem)
            out += system + "\n\n";
        out += user + " [/INST]";
        return out;
    case ChatTemplate::Llama3:
        if (hasSystem)
            out += "<|start_header_id|>system<|end_header_id|>\n\n" + trim(system) + "<|eot_id|>";
        out += "<|start_header_id|>user<|end_header_id|>\n\n" + trim(user) + "<|eot_id|>";
        out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
        return out;
    case ChatTemplate::Zephyr:
        if (hasSystem)
            out += "<|system|>\n" + system + eosPiece + "\n";
        out += "<|user|>\n" + user + eosPiece + "\n<|assistant|>\n";
        return out;
    case ChatTemplate::Phi3:
        if (hasSystem)
            out += "<|system|>\n" + system + "<|end|>\n";
        out += "<|user|>\n" + user + "<|end|>\n<|assistant|>\n";
        return out;
    case ChatTemplate::Phi4:
        if (hasSystem)
            out += "<|im_start|>system<|im_sep|>" + system + "<|im_end|>";
        out += "<|im_start|>user<|im_sep|>" + user + "<|im_end|><|im_start|>assistant<|im_sep|>";
        return out;
    case ChatTemplate::Gemma:
        out = "<start_of_turn>user\n";
        if (hasSystem)
            out += trim(system) + "\n\n";
        out += trim(user) + "<end_of_turn>\n<start_of_turn>model\n";
        return out;
    }
    return user;
}

std::vector<int32_t> encodeChatPrompt(const Tokenizer& tokenizer, std::string_view text)
{
    const int32_t bos = tokenizer.bos();
    if (bos >= 0) {
        const std::string& bosPiece = tokenizer.piece(bos);
        if (!bosPiece.empty() && text.substr(0, bosPiece.size()) == bosPiece) {
            std::vector<int32_t> ids { bos };
            const std::vector<int32_t> rest = tokenizer.encode(text.substr(bosPiece.size()), false, true);
            ids.insert(ids.end(), rest.begin(), rest.end());
            return ids;
        }
    }
    return tokenizer.encode(text, tokenizer.vocab().addBos, true);
}

} // namespace engine
