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
    { ChatTemplate::MistralV1, "mistral-v1" },
    { ChatTemplate::MistralV3, "mistral-v3" },
    { ChatTemplate::MistralV3Tekken, "mistral-v3-tekken" },
    { ChatTemplate::MistralV7, "mistral-v7" },
    { ChatTemplate::MistralV7Tekken, "mistral-v7-tekken" },
    { ChatTemplate::Llama3, "llama3" },
    { ChatTemplate::Zephyr, "zephyr" },
    { ChatTemplate::Phi3, "phi3" },
    { ChatTemplate::Phi4, "phi4" },
    { ChatTemplate::Gemma, "gemma" },
};

} // namespace

// The order matters where families share markers, as in llama.cpp's llm_chat_detect_template: Phi-4 is ChatML with
// <|im_sep|>; Phi-3 has Zephyr's <|user|> / <|assistant|> plus <|end|>; the Mistral variants are told apart inside
// the [INST] branch by the substrings llama.cpp uses.
ChatTemplate detectChatTemplate(std::string_view jinja)
{
    if (jinja.empty())
        return ChatTemplate::None;
    if (const std::optional<ChatTemplate> named = chatTemplateFromName(jinja))
        return *named; // llama.cpp takes its template names in place of a template
    if (contains(jinja, "<|im_start|>"))
        return contains(jinja, "<|im_sep|>") ? ChatTemplate::Phi4 : ChatTemplate::ChatML;
    if (jinja.substr(0, 7) == "mistral" || contains(jinja, "[INST]")) {
        if (contains(jinja, "[SYSTEM_PROMPT]"))
            return ChatTemplate::MistralV7;
        // mistralai's official v1 template (" [INST] " + system_message), and v3 / v3-tekken (tool support).
        if (contains(jinja, "' [INST] ' + system_message") || contains(jinja, "[AVAILABLE_TOOLS]")) {
            if (contains(jinja, " [INST]"))
                return ChatTemplate::MistralV1;
            if (contains(jinja, "\"[INST]\""))
                return ChatTemplate::MistralV3Tekken;
            return ChatTemplate::MistralV3;
        }
        return contains(jinja, "<<SYS>>") ? ChatTemplate::Llama2 : ChatTemplate::Mistral;
    }
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

std::string ChatPrompt::text() const
{
    std::string out;
    for (const ChatSegment& segment : segments)
        out += segment.text;
    return out;
}

namespace {

// Builds a prompt: marker() for what the template writes, text() for a message's content.
class PromptBuilder {
public:
    PromptBuilder& marker(std::string s)
    {
        append(std::move(s), true);
        return *this;
    }
    PromptBuilder& text(std::string s)
    {
        append(std::move(s), false);
        return *this;
    }
    ChatPrompt take() { return std::move(m_prompt); }

private:
    void append(std::string s, bool isMarker)
    {
        if (s.empty())
            return;
        if (!m_prompt.segments.empty() && m_prompt.segments.back().marker == isMarker)
            m_prompt.segments.back().text += s; // keep segments alternating
        else
            m_prompt.segments.push_back({ std::move(s), isMarker });
    }
    ChatPrompt m_prompt;
};

} // namespace

// Each case is what llama.cpp's llm_chat_apply_template renders for [system?, user] with add_generation_prompt.
// Not reproduced: defaults some Jinja templates inject on their own (Qwen2.5's "You are Qwen..." system prompt when
// none is given, Llama-3.1's "Cutting Knowledge Date" lines).
ChatPrompt formatChatPrompt(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece)
{
    const bool hasSystem = !system.empty();
    PromptBuilder p;
    switch (family) {
    case ChatTemplate::None:
        p.text(user);
        break;
    case ChatTemplate::ChatML:
        if (hasSystem)
            p.marker("<|im_start|>system\n").text(system).marker("<|im_end|>\n");
        p.marker("<|im_start|>user\n").text(user).marker("<|im_end|>\n<|im_start|>assistant\n");
        break;
    case ChatTemplate::Llama2:
        // Meta's template: bos + '[INST] ' + content.strip() + ' [/INST]', the system prompt inside the first turn.
        p.marker("[INST] ");
        if (hasSystem)
            p.marker("<<SYS>>\n").text(trim(system)).marker("\n<</SYS>>\n\n");
        p.text(trim(user)).marker(" [/INST]");
        break;
    case ChatTemplate::Mistral:
        // llama.cpp's "llama2" without system support: the system prompt and a newline start the first turn.
        p.marker("[INST] ");
        if (hasSystem)
            p.text(system).marker("\n");
        p.text(user).marker(" [/INST]");
        break;
    case ChatTemplate::MistralV1:
    case ChatTemplate::MistralV3:
    case ChatTemplate::MistralV3Tekken: {
        // llama.cpp: v1 has a space before [INST] and before [/INST]; v3 only after [INST]; v3-tekken none.
        const char* leading = family == ChatTemplate::MistralV1 ? " " : "";
        const char* trailing = family == ChatTemplate::MistralV3Tekken ? "" : " ";
        p.marker(std::string(leading) + "[INST]" + trailing);
        if (hasSystem)
            p.text(system).marker("\n\n");
        p.text(user).marker(std::string(leading) + "[/INST]");
        break;
    }
    case ChatTemplate::MistralV7:
    case ChatTemplate::MistralV7Tekken: {
        const char* trailing = family == ChatTemplate::MistralV7 ? " " : "";
        if (hasSystem)
            p.marker(std::string("[SYSTEM_PROMPT]") + trailing).text(system).marker("[/SYSTEM_PROMPT]");
        p.marker(std::string("[INST]") + trailing).text(user).marker("[/INST]");
        break;
    }
    case ChatTemplate::Llama3:
        if (hasSystem)
            p.marker("<|start_header_id|>system<|end_header_id|>\n\n").text(trim(system)).marker("<|eot_id|>");
        p.marker("<|start_header_id|>user<|end_header_id|>\n\n").text(trim(user)).marker("<|eot_id|>");
        p.marker("<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case ChatTemplate::Zephyr:
        if (hasSystem)
            p.marker("<|system|>\n").text(system).marker(eosPiece + "\n");
        p.marker("<|user|>\n").text(user).marker(eosPiece + "\n<|assistant|>\n");
        break;
    case ChatTemplate::Phi3:
        if (hasSystem)
            p.marker("<|system|>\n").text(system).marker("<|end|>\n");
        p.marker("<|user|>\n").text(user).marker("<|end|>\n<|assistant|>\n");
        break;
    case ChatTemplate::Phi4:
        if (hasSystem)
            p.marker("<|im_start|>system<|im_sep|>").text(system).marker("<|im_end|>");
        p.marker("<|im_start|>user<|im_sep|>").text(user).marker("<|im_end|><|im_start|>assistant<|im_sep|>");
        break;
    case ChatTemplate::Gemma:
        p.marker("<start_of_turn>user\n");
        if (hasSystem)
            p.text(trim(system)).marker("\n\n");
        p.text(trim(user)).marker("<end_of_turn>\n<start_of_turn>model\n");
        break;
    }
    return p.take();
}

std::string applyChatTemplate(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece)
{
    return formatChatPrompt(family, system, user, eosPiece).text();
}

std::vector<int32_t> encodeChatPrompt(const Tokenizer& tokenizer, const ChatPrompt& prompt)
{
    std::vector<Tokenizer::TextSegment> segments;
    segments.reserve(prompt.segments.size());
    for (const ChatSegment& segment : prompt.segments)
        segments.push_back({ segment.text, segment.marker });
    return tokenizer.encode(segments, tokenizer.vocab().addBos);
}

} // namespace engine
