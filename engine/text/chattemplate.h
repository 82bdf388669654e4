// Chat prompts: recognise a model's tokenizer.chat_template (Jinja) by family and format {system, user} with it.
//
// No Jinja is executed. Like llama.cpp's llm_chat_detect_template, the family is told by distinctive substrings of
// the template, and each family's prompt is written out by hand, exactly as llama.cpp's llm_chat_apply_template
// renders a system message and one user message with add_generation_prompt (the text ends with the assistant turn
// opener where the family has one).
//
// Control tokens come from the template, never from the messages. formatChatPrompt returns the prompt as segments:
// markers (what the template itself writes: "<|im_start|>user\n", "[INST]", "<|eot_id|>", a Zephyr "</s>" ...) and
// text (the system and user messages as given). encodeChatPrompt parses control-token pieces in the markers only; the
// messages are tokenised as plain text, so a user typing "<|im_end|>" or "[/INST]" gets the ordinary pieces for those
// characters and cannot close a turn or open a system one. Adjacent plain text (a marker's "user\n" and the message
// after it) is tokenised as one piece of text, so a prompt without control-token text in its messages gives exactly
// the ids of tokenising the whole formatted string with special tokens parsed.
// Raw mode (no template, ChatTemplate::None) does not come through here: the prompt is the user's own text and is
// tokenised as a whole with the tokenizer's usual convention (Tokenizer::encode), so a complete formatted prompt typed
// by hand still gets its control tokens.
//
// BOS rule: the formatted prompt never contains the BOS piece (templates write it as {{ bos_token }}); BOS comes from
// the tokenizer's add_bos_token alone, so it can never be doubled. A BOS piece typed in a message is plain text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

class GgufFile;
class Tokenizer;
struct Vocabulary;

enum class ChatTemplate {
    None, // no template, or one not recognised: the prompt is used raw (plain completion)
    ChatML, // <|im_start|>role\n...<|im_end|>\n (Qwen, SmolLM, many fine-tunes)
    Llama2, // [INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] (Llama-2 chat)
    Mistral, // [INST] without <<SYS>> or a Mistral marker (Mistral-7B-Instruct v0.1/v0.2's first template):
             // llama.cpp's "llama2" without system support, the system prompt + "\n" before the user text
    MistralV1, // " [INST] system\n\nuser [/INST]" (mistralai's v1 template with a system prompt)
    MistralV3, // "[INST] system\n\nuser[/INST]" (Mistral-7B-Instruct-v0.3, Mistral-Large-2407)
    MistralV3Tekken, // "[INST]system\n\nuser[/INST]" (Mistral-Nemo)
    MistralV7, // "[SYSTEM_PROMPT] system[/SYSTEM_PROMPT][INST] user[/INST]" (Mistral-Large-2411, Mistral-Small-3)
    MistralV7Tekken, // "[SYSTEM_PROMPT]system[/SYSTEM_PROMPT][INST]user[/INST]"; by name only, as in llama.cpp
    Llama3, // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
    Zephyr, // <|role|>\n...EOS\n (Zephyr, TinyLlama-chat)
    Phi3, // <|role|>\n...<|end|>\n
    Phi4, // <|im_start|>role<|im_sep|>...<|im_end|>
    Gemma, // <start_of_turn>user\n...<end_of_turn>\n (no system role: it is prepended to the user text)
};

// The family of a Jinja chat template ("" -> None; unrecognised -> None). A family name (chatTemplateName) is
// accepted too, as llama.cpp accepts its template names; it is the only way to MistralV7Tekken, whose Jinja llama.cpp
// detects as MistralV7.
ChatTemplate detectChatTemplate(std::string_view jinja);
// The family of the template a vocabulary came with (tokenizer.chat_template).
ChatTemplate detectChatTemplate(const Vocabulary& vocab);
// The family of a file's tokenizer.chat_template; None if the key is absent.
ChatTemplate detectChatTemplate(const GgufFile& file);

// Short lowercase name: "none", "chatml", "llama2", "mistral", "mistral-v1", "mistral-v3", "mistral-v3-tekken",
// "mistral-v7", "mistral-v7-tekken", "llama3", "zephyr", "phi3", "phi4", "gemma" (llama.cpp's names where it has one).
const char* chatTemplateName(ChatTemplate family);
// The family with that name (for a command-line override), or nullopt.
std::optional<ChatTemplate> chatTemplateFromName(std::string_view name);

// One piece of a formatted prompt: written by the template (marker) or a message's text.
struct ChatSegment {
    std::string text;
    bool marker = false; // true: control-token pieces in it become those tokens; false: always plain text
    int message = -1; // formatChatHistory: the index of the message whose content this is; -1: none
};

struct ChatPrompt {
    std::vector<ChatSegment> segments;
    std::string text() const; // the segments joined: the formatted prompt as a string, for display
};

// A message of a conversation. The system prompt is not a message: it is given apart, as it is set once.
enum class ChatRole { User, Assistant };
const char* chatRoleName(ChatRole role); // "user", "assistant"
struct ChatMessage {
    ChatRole role = ChatRole::User;
    std::string content;
};

// Formats a whole conversation: an optional system prompt (empty: none), then the messages in order (user first,
// alternating), each assistant message closed as the template closes it; with addGenerationPrompt the text ends with
// the assistant turn opener, ready for the next reply. eosPiece as for formatChatPrompt.
ChatPrompt formatChatHistory(ChatTemplate family, const std::string& system, const std::vector<ChatMessage>& messages,
    bool addGenerationPrompt = true, const std::string& eosPiece = "</s>");

// Formats one exchange: an optional system prompt (empty: no system turn) and the user prompt, ending with the
// assistant turn opener. None gives the user text alone as text (the system prompt is dropped: raw completion has no
// place for it). eosPiece is the end-of-message marker of the families that write {{ eos_token }} (Zephyr: "</s>" for
// TinyLlama and Zephyr, "<|endoftext|>" for StableLM-Zephyr); pass the vocabulary's EOS piece.
ChatPrompt formatChatPrompt(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece = "</s>");
// formatChatPrompt(...).text(): the prompt as the model will see it, for display.
std::string applyChatTemplate(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece = "</s>");

// Tokenises a formatted prompt: control-token pieces in the markers become those tokens (so "<|im_start|>" is one
// token in both vocabulary kinds), the messages stay plain text (see the rule above); BOS is added if the
// vocabulary's add_bos_token says so.
std::vector<int32_t> encodeChatPrompt(const Tokenizer& tokenizer, const ChatPrompt& prompt);

} // namespace engine
