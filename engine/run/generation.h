// One generation: tokenise the prompt, prefill it as a batch, decode token by token, stream text out.
#pragma once

#include "engine/model/inferencecontext.h"
#include "engine/model/sampler.h"
#include "engine/parallel/scheduler.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

// The most alternatives a request may keep per token.
inline constexpr int kMaxTopAlternatives = 100;

struct GenerationRequest {
    std::string prompt;
    SamplingParams sampling;
    int maxTokens = 128; // tokens to generate, >= 0
    bool addBos = true; // prepend BOS when the vocabulary has one
    bool stopAtEos = true; // stop at an end-of-generation token
    int sequence = 0; // which prompt of a run (recorded in the trace)
    // Chat: format {systemPrompt, prompt} with the model's chat template when it has one
    // (tokenizer.chat_template); otherwise, or with chat off, the prompt is raw completion text.
    bool chat = false;
    std::string systemPrompt;
    // Keep each generated token's probability (drawnTokenProbability, run/tokenprobability.h) in the result.
    bool recordTokenProbabilities = false;
    // Per generated token, what the sampler saw: the best N candidates through every stage of its chain
    // (GenerationResult::alternatives). 0: off, and sampling runs exactly as without it.
    int topAlternatives = 0;
    // The first forcedTokens.size() generated tokens are these instead of the sampled ones. The sampler still runs
    // at each of them (its RNG advances as in a run without forcing, and alternatives are kept), so the tokens
    // after them are what a fresh run that happened to draw this prefix would give: "continue from here with
    // another token". Ids must be in the vocabulary.
    std::vector<int32_t> forcedTokens;

    void validate() const; // throws std::invalid_argument (maxTokens out of 0..1M, sampling values, topAlternatives)
};

// Why a generation ended. stopReasonName() gives the names the JSON, the CLI and the window show.
enum class StopReason {
    MaxTokens, // the token budget is spent
    Eos, // the model produced an end-of-generation token
    ContextFull, // no context slot left for another token
    Cancelled, // the caller asked to stop
};
const char* stopReasonName(StopReason reason); // "max_tokens", "eos", "context_full", "cancelled"

struct GenerationStats {
    int promptTokens = 0;
    int generatedTokens = 0;
    double prefillMs = 0.0; // the prompt's forward pass (layer pipeline: from the start, tokenising included)
    double timeToFirstTokenMs = 0.0; // from the start (tokenising included) to the first sampled token
    double decodeMs = 0.0; // every later token: forward + sampling, this sequence's own (not time spent on others)
    double totalMs = 0.0;
    double prefillTokensPerSecond() const { return prefillMs > 0 ? promptTokens * 1000.0 / prefillMs : 0.0; }
    // Tokens after the first, over the time they took (the first comes out of the prefill).
    double decodeTokensPerSecond() const
    {
        return decodeMs > 0 && generatedTokens > 1 ? (generatedTokens - 1) * 1000.0 / decodeMs : 0.0;
    }
    StopReason stopReason = StopReason::MaxTokens;
};

struct GenerationResult {
    std::string text;
    std::vector<int32_t> promptIds;
    std::vector<int32_t> tokenIds; // generated ids (the EOS that stopped generation is not included)
    std::vector<double> tokenProbabilities; // with recordTokenProbabilities: one per tokenIds entry
    // With GenerationRequest::topAlternatives > 0: one entry per element of tokenIds, in order.
    std::vector<TokenAlternatives> alternatives;
    std::string chatTemplate; // the template family applied ("none" for raw completion)
    GenerationStats stats;
};

// Called for every generated token with the text it completes (may be empty while a UTF-8
// sequence is incomplete). Return false to stop: generation ends after this token.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

// One sequence's generation as a state machine, so strategies can interleave sequences and run
// them on any thread: prefill() feeds the prompt and samples the first token, step() decodes one
// more. Each instance is used by one thread at a time.
class SequenceState {
public:
    // With a scheduler, tokenising is recorded as a serial section of the trace.
    SequenceState(std::shared_ptr<const Model> model, const GenerationRequest& request, int contextLength, int sequence,
        std::chrono::steady_clock::time_point start, Scheduler* scheduler = nullptr);

    void prefill(Scheduler& scheduler, const TokenCallback& onToken = {});
    void step(Scheduler& scheduler, const TokenCallback& onToken = {});
    bool done() const { return m_done; }
    void stop(StopReason reason); // ends the generation; the first reason given is the one kept
    void finish(); // ends timing and flushes held UTF-8 bytes

    // For the layer pipeline: the tokens the next forward pass needs, and taking its logits.
    std::span<const int32_t> nextInput() const;
    void acceptLogits(Scheduler& scheduler, std::span<const float> logits, const TokenCallback& onToken);
    InferenceContext& context() { return m_context; }

    int sequence() const { return m_sequence; }
    const GenerationResult& result() const { return m_result; }
    GenerationResult takeResult() { return std::move(m_result); }

private:
    std::shared_ptr<const Model> m_model;
    GenerationRequest m_request;
    int m_sequence;
    std::chrono::steady_clock::time_point m_start;
    InferenceContext m_context;
    Sampler m_sampler;
    Detokenizer m_detok;
    std::vector<int32_t> m_history;
    GenerationResult m_result;
    int32_t m_last = -1;
    bool m_prefilled = false;
    bool m_done = false;
    bool m_finished = false;
    std::chrono::steady_clock::time_point m_decodeStart;
    std::chrono::steady_clock::time_point m_lastToken; // when the last token was sampled
    double m_stepMs = 0.0; // decode steps' own time (step(): forward + sampling)
    int m_steps = 0;
};

// "Continue from here with another token": the forcedTokens that make a run take the first `index` of `generated`
// (a result's tokenIds), then `id` instead of its token at `index`, and sample on from there with the same seed and
// settings.
std::vector<int32_t> branchTokens(std::span<const int32_t> generated, size_t index, int32_t id);

// Runs one request on a fresh context of `contextLength` tokens (<= 0: model default, max 2048).
GenerationResult generate(std::shared_ptr<const Model> model, Scheduler& scheduler, const GenerationRequest& request,
    int contextLength = 0, const TokenCallback& onToken = {});

} // namespace engine
