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
    PromptBuilder& text(std::string s, int message = -1)
    {
        append(std::move(s), false, message);
        return *this;
    }
    ChatPrompt take() { return std::move(m_prompt); }

private:
    void append(std::string s, bool isMarker, int message = -1)
    {
        if (s.empty())
            return;
        // Keep segments alternating, but a message's content in a segment of its own.
        if (!m_prompt.segments.empty() && m_prompt.segments.back().marker == isMarker
            && m_prompt.segments.back().message == message)
            m_prompt.segments.back().text += s;
        else
            m_prompt.segments.push_back({ std::move(s), isMarker, message });
    }
    ChatPrompt m_prompt;
};

} // namespace

// Each case is what llama.cpp's llm_chat_apply_template renders for [system?, user, assistant, user, ...] with
// add_generation_prompt (the assistant turn opener at the end where the family has one). One exchange
// (formatChatPrompt) is the same rendering of [system?, user]. Not reproduced: defaults some Jinja templates inject on
// their own (Qwen2.5's "You are Qwen..." system prompt when none is given, Llama-3.1's "Cutting Knowledge Date" lines).
// An assistant message ends with what the model itself produces to end its turn (ChatML's "<|im_end|>", Llama-3's
// "<|eot_id|>", the EOS piece for the [INST] families), so a reply the model stopped with its end-of-generation token
// renders as the tokens it saw.
ChatPrompt formatChatHistory(ChatTemplate family, const std::string& system, const std::vector<ChatMessage>& messages,
    bool addGenerationPrompt, const std::string& eosPiece)
{
    const bool hasSystem = !system.empty();
    auto at = [&](const ChatMessage& m) { return int(&m - messages.data()); };
    PromptBuilder p;
    switch (family) {
    case ChatTemplate::None:
        // Raw completion: the messages one after another, the system prompt dropped.
        for (const ChatMessage& m : messages)
            p.text(m.content, at(m));
        break;
    case ChatTemplate::ChatML:
        if (hasSystem)
            p.marker("<|im_start|>system\n").text(system).marker("<|im_end|>\n");
        for (const ChatMessage& m : messages)
            p.marker(std::string("<|im_start|>") + chatRoleName(m.role) + "\n")
                .text(m.content, at(m))
                .marker("<|im_end|>\n");
        if (addGenerationPrompt)
            p.marker("<|im_start|>assistant\n");
        break;
    case ChatTemplate::Llama2:
    case ChatTemplate::Mistral: {
        // llama.cpp's "llama2" family: Meta's template puts the system prompt inside the first turn (<<SYS>>, text
        // stripped); Mistral's first template has no system role, so the system prompt and a newline start the turn.
        // Later turns open with "[INST] " again (llama.cpp writes BOS there only for templates with
        // "bos_token + '[INST]", which ours never put in the text: see the BOS rule).
        const bool llama2 = family == ChatTemplate::Llama2;
        auto content = [&](const std::string& s) { return llama2 ? trim(s) : s; };
        bool insideTurn = true;
        p.marker("[INST] ");
        if (hasSystem) {
            if (llama2)
                p.marker("<<SYS>>\n").text(content(system)).marker("\n<</SYS>>\n\n");
            else
                p.text(system).marker("\n");
        }
        for (const ChatMessage& m : messages) {
            if (!insideTurn) {
                insideTurn = true;
                p.marker("[INST] ");
            }
            if (m.role == ChatRole::User) {
                p.text(content(m.content), at(m)).marker(" [/INST]");
            } else {
                p.text(content(m.content), at(m)).marker(eosPiece);
                insideTurn = false;
            }
        }
        break;
    }
    case ChatTemplate::MistralV1:
    case ChatTemplate::MistralV3:
    case ChatTemplate::MistralV3Tekken: {
        // llama.cpp: v1 has a space before [INST] and before [/INST]; v3 only after [INST]; v3-tekken none; v3 trims
        // the assistant's text.
        const std::string leading = family == ChatTemplate::MistralV1 ? " " : "";
        const std::string trailing = family == ChatTemplate::MistralV3Tekken ? "" : " ";
        bool insideTurn = false;
        auto openTurn = [&] {
            if (!insideTurn)
                p.marker(leading + "[INST]" + trailing);
            insideTurn = true;
        };
        if (hasSystem) {
            openTurn();
            p.text(system).marker("\n\n");
        }
        for (const ChatMessage& m : messages) {
            openTurn();
            if (m.role == ChatRole::User) {
                p.text(m.content, at(m)).marker(leading + "[/INST]");
            } else {
                p.marker(trailing).text(family == ChatTemplate::MistralV3 ? trim(m.content) : m.content, at(m));
                p.marker(eosPiece);
                insideTurn = false;
            }
        }
        break;
    }
    case ChatTemplate::MistralV7:
    case ChatTemplate::MistralV7Tekken: {
        const std::string trailing = family == ChatTemplate::MistralV7 ? " " : "";
        if (hasSystem)
            p.marker("[SYSTEM_PROMPT]" + trailing).text(system).marker("[/SYSTEM_PROMPT]");
        for (const ChatMessage& m : messages) {
            if (m.role == ChatRole::User)
                p.marker("[INST]" + trailing).text(m.content, at(m)).marker("[/INST]");
            else
                p.marker(trailing).text(m.content, at(m)).marker(eosPiece);
        }
        break;
    }
    case ChatTemplate::Llama3:
        if (hasSystem)
            p.marker("<|start_header_id|>system<|end_header_id|>\n\n").text(trim(system)).marker("<|eot_id|>");
        for (const ChatMessage& m : messages) {
            p.marker(std::string("<|start_header_id|>") + chatRoleName(m.role) + "<|end_header_id|>\n\n");
            p.text(trim(m.content), at(m)).marker("<|eot_id|>");
        }
        if (addGenerationPrompt)
            p.marker("<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case ChatTemplate::Zephyr:
        if (hasSystem)
            p.marker("<|system|>\n").text(system).marker(eosPiece + "\n");
        for (const ChatMessage& m : messages)
            p.marker(std::string("<|") + chatRoleName(m.role) + "|>\n").text(m.content, at(m)).marker(eosPiece + "\n");
        if (addGenerationPrompt)
            p.marker("<|assistant|>\n");
        break;
    case ChatTemplate::Phi3:
        if (hasSystem)
            p.marker("<|system|>\n").text(system).marker("<|end|>\n");
        for (const ChatMessage& m : messages)
            p.marker(std::string("<|") + chatRoleName(m.role) + "|>\n").text(m.content, at(m)).marker("<|end|>\n");
        if (addGenerationPrompt)
            p.marker("<|assistant|>\n");
        break;
    case ChatTemplate::Phi4:
        if (hasSystem)
            p.marker("<|im_start|>system<|im_sep|>").text(system).marker("<|im_end|>");
        for (const ChatMessage& m : messages)
            p.marker(std::string("<|im_start|>") + chatRoleName(m.role) + "<|im_sep|>")
                .text(m.content, at(m))
                .marker("<|im_end|>");
        if (addGenerationPrompt)
            p.marker("<|im_start|>assistant<|im_sep|>");
        break;
    case ChatTemplate::Gemma: {
        // No system role: the system prompt opens the first user turn; the assistant is "model".
        std::string pendingSystem = trim(system);
        for (const ChatMessage& m : messages) {
            const bool user = m.role == ChatRole::User;
            p.marker(user ? "<start_of_turn>user\n" : "<start_of_turn>model\n");
            if (user && !pendingSystem.empty()) {
                p.text(pendingSystem).marker("\n\n");
                pendingSystem.clear();
            }
            p.text(trim(m.content), at(m)).marker("<end_of_turn>\n");
        }
        if (addGenerationPrompt)
            p.marker("<start_of_turn>model\n");
        break;
    }
    }
    return p.take();
}

ChatPrompt formatChatPrompt(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece)
{
    return formatChatHistory(family, system, { ChatMessage { ChatRole::User, user } }, true, eosPiece);
}

const char* chatRoleName(ChatRole role) { return role == ChatRole::User ? "user" : "assistant"; }

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
