// A multi-turn chat with one model: the chat template applied to the whole history, the KV cache kept across turns.
//
// Every reply renders the whole conversation (system prompt, messages, assistant turn opener) with the model's chat
// template and tokenises it; a reply the model generated in this conversation keeps its own tokens (what the model
// said is what it sees again), everything else is tokenised from the rendered text. The tokens already in the KV cache
// that agree with the start of that rendering are kept (attention is causal: a position's keys and values depend only
// on the tokens before it), the cache is truncated there, and only the rest is prefilled. After a reply the cache holds
// the history and the reply's tokens, so the next turn usually prefills only the closing marker of the reply and the
// new user message. Regenerating or editing the last turn truncates the cache back to where the new rendering departs
// from it. Reuse changes the cost, never the tokens: the test checks a reused turn against a fresh run over the whole
// rendered history.
#pragma once

#include "engine/model/inferencecontext.h"
#include "engine/run/generation.h"
#include "engine/run/run.h"
#include "engine/text/chattemplate.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace engine {

// The settings of one reply.
struct ChatTurnRequest {
    SamplingParams sampling;
    int maxTokens = 128; // tokens to generate, >= 0
    void validate() const; // throws std::invalid_argument
};

// One reply and what it cost.
struct ChatTurn {
    // promptIds: the whole rendered history the reply continues; tokenIds/text: the reply; stats.promptTokens: the
    // tokens this turn's prefill fed (prefilledTokens), so prefillTokensPerSecond is the prefill's real rate.
    GenerationResult generation;
    int historyTokens = 0; // tokens of the rendered history (BOS included)
    int reusedTokens = 0; // of those, already in the KV cache and kept
    int prefilledTokens = 0; // historyTokens - reusedTokens: fed to the model this turn
};

// What the conversation's last action is.
enum class ChatAction {
    Send, // add a user message, reply to it
    Regenerate, // drop the last reply, reply again to the same history (with this request's seed)
    EditLast, // replace the last user message (dropping its reply), reply to it
};

class Conversation {
public:
    // Throws std::invalid_argument with unavailableReason() if the model has no chat template the engine knows.
    explicit Conversation(std::shared_ptr<const Model> model, int contextLength = 0);

    // Why a model cannot chat ("" if it can): no tokenizer.chat_template, or one the engine does not recognise.
    static std::string unavailableReason(const Model& model);

    ChatTemplate family() const { return m_family; }
    const Model& model() const { return *m_model; }
    // Takes effect from the next reply; the cache is kept up to where the rendering changes (a new system prompt
    // at the start means a full prefill).
    void setSystemPrompt(const std::string& system) { m_system = system; }
    const std::string& systemPrompt() const { return m_system; }
    const std::vector<ChatMessage>& messages() const { return m_messages; }
    void clear()
    {
        m_messages.clear();
        m_replyIds.clear();
    } // the cache stays: a new chat with the same system prompt reuses its start

    // The action, then a reply generated on `scheduler` (its trace recorder, if any, records the turn). On an
    // exception the messages are as before the call. Throws std::logic_error for Regenerate without a reply to redo
    // or EditLast without a user message, std::length_error if the history does not fit in the context.
    // onPrefill, if given, hears the turn's history and reused token counts before the prefill starts.
    using PrefillCallback = std::function<void(int historyTokens, int reusedTokens)>;
    ChatTurn act(Scheduler& scheduler, ChatAction action, const std::string& text, const ChatTurnRequest& request,
        const TokenCallback& onToken = {}, const PrefillCallback& onPrefill = {});
    ChatTurn send(Scheduler& scheduler, const std::string& user, const ChatTurnRequest& request,
        const TokenCallback& onToken = {})
    {
        return act(scheduler, ChatAction::Send, user, request, onToken);
    }

    // The conversation as the model sees it before the next reply (ending with the assistant turn opener).
    ChatPrompt renderHistory() const;
    std::vector<int32_t> historyTokens() const;
    int cachedTokens() const { return int(m_cached.size()); }
    int contextLength() const { return m_context.contextLength(); }

private:
    ChatTurn reply(Scheduler& scheduler, const ChatTurnRequest& request, const TokenCallback& onToken,
        const PrefillCallback& onPrefill);

    std::shared_ptr<const Model> m_model;
    ChatTemplate m_family = ChatTemplate::None;
    std::string m_system;
    std::vector<ChatMessage> m_messages;
    // Per message: the tokens the model generated for it (a reply of this conversation), else empty (tokenise the
    // text). Re-tokenising a reply's text need not give its tokens back (a model may emit a non-canonical split, or
    // bytes that are not UTF-8), and the cache holds the tokens as generated.
    std::vector<std::vector<int32_t>> m_replyIds;
    InferenceContext m_context;
    std::vector<int32_t> m_cached; // the tokens whose keys and values are in m_context, at positions 0 .. size-1
};

// A turn run the way executeRun runs a request, on the given scheduler: traced when `trace` is set (the timeline then
// shows the turn's short prefill), tokens and trace batches streamed to the listener, the listener's shouldStop
// honoured between tokens, RunMetrics computed. run.sequences holds the one reply (a copy of turn.generation).
struct ChatTurnRun {
    ChatTurn turn;
    RunResult run;
};
ChatTurnRun runChatTurn(Conversation& conversation, ChatAction action, const std::string& text,
    const ChatTurnRequest& request, Scheduler& scheduler, bool trace, RunListener* listener = nullptr);

} // namespace engine
