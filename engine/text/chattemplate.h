// Chat prompts: recognise a model's tokenizer.chat_template (Jinja) by family and format {system, user} with it.
//
// No Jinja is executed. Like llama.cpp's llm_chat_detect_template, the family is told by distinctive substrings of
// the template, and each family's prompt is written out by hand, exactly as its template renders a system message
// and one user message with add_generation_prompt (the text ends with the assistant turn opener).
//
// BOS rule: the formatted text never contains the BOS piece (templates write it as {{ bos_token }}); BOS comes from
// the tokenizer's add_bos_token alone, so it can never be doubled. encodeChatPrompt applies this rule, and also
// accepts text that does start with the BOS piece (typed by a user, or from another formatter): that piece is then
// the one BOS, never a second one.
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
    Mistral, // [INST] ... [/INST] without <<SYS>>: the system prompt goes before the user text
    Llama3, // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
    Zephyr, // <|role|>\n...EOS\n (Zephyr, TinyLlama-chat)
    Phi3, // <|role|>\n...<|end|>\n
    Phi4, // <|im_start|>role<|im_sep|>...<|im_end|>
    Gemma, // <start_of_turn>user\n...<end_of_turn>\n (no system role: it is prepended to the user text)
};

// The family of a Jinja chat template ("" -> None; unrecognised -> None).
ChatTemplate detectChatTemplate(std::string_view jinja);
// The family of the template a vocabulary came with (tokenizer.chat_template).
ChatTemplate detectChatTemplate(const Vocabulary& vocab);
// The family of a file's tokenizer.chat_template; None if the key is absent.
ChatTemplate detectChatTemplate(const GgufFile& file);

// Short lowercase name: "none", "chatml", "llama2", "mistral", "llama3", "zephyr", "phi3", "phi4", "gemma".
const char* chatTemplateName(ChatTemplate family);
// The family with that name (for a command-line override), or nullopt.
std::optional<ChatTemplate> chatTemplateFromName(std::string_view name);

// Formats one exchange: an optional system prompt (empty: no system turn) and the user prompt, ending with the
// assistant turn opener. None returns `user` unchanged (the system prompt is dropped: raw completion has no place
// for it). eosPiece is the end-of-message marker of the families that write {{ eos_token }} (Zephyr: "</s>" for
// TinyLlama and Zephyr, "<|endoftext|>" for StableLM-Zephyr); pass the vocabulary's EOS piece.
std::string applyChatTemplate(
    ChatTemplate family, const std::string& system, const std::string& user, const std::string& eosPiece = "</s>");

// Tokenises a formatted chat prompt: special tokens in the text are parsed (so "<|im_start|>" is one token in both
// vocabulary kinds), and BOS follows the rule above: a leading BOS piece in the text becomes the BOS token; otherwise
// BOS is added if the vocabulary's add_bos_token says so.
std::vector<int32_t> encodeChatPrompt(const Tokenizer& tokenizer, std::string_view text);

} // namespace engine
