// One generation: tokenise the prompt, prefill it as a batch, decode token by token, stream text out.
#pragma once

#include "sampler.h"
#include "scheduler.h"
#include "transformer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

struct GenerationRequest {
    std::string prompt;
    SamplingParams sampling;
    int maxTokens = 128;   // tokens to generate, >= 0
    bool addBos = true;    // prepend BOS when the vocabulary has one
    bool stopAtEos = true; // stop at an end-of-generation token

    void validate() const; // throws std::invalid_argument (maxTokens out of 0..1M, sampling values)
};

struct GenerationStats {
    int promptTokens = 0;
    int generatedTokens = 0;
    double prefillMs = 0.0;       // the prompt's forward pass
    double timeToFirstTokenMs = 0.0; // from the start (tokenising included) to the first sampled token
    double decodeMs = 0.0;        // every later token: forward + sampling
    double totalMs = 0.0;
    double prefillTokensPerSecond() const { return prefillMs > 0 ? promptTokens * 1000.0 / prefillMs : 0.0; }
    // Tokens after the first, over the time they took (the first comes out of the prefill).
    double decodeTokensPerSecond() const
    {
        return decodeMs > 0 && generatedTokens > 1 ? (generatedTokens - 1) * 1000.0 / decodeMs : 0.0;
    }
    std::string stopReason; // "eos", "max_tokens", "context_full", "cancelled"
};

struct GenerationResult {
    std::string text;
    std::vector<int32_t> promptIds;
    std::vector<int32_t> tokenIds; // generated ids (the EOS that stopped generation is not included)
    GenerationStats stats;
};

// Called for every generated token with the text it completes (may be empty while a UTF-8
// sequence is incomplete). Return false to stop: generation ends after this token.
using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;

// Runs one request on a fresh context of `contextLength` tokens (<= 0: model default, max 2048).
GenerationResult generate(std::shared_ptr<const Model> model, Scheduler& scheduler, const GenerationRequest& request,
    int contextLength = 0, const TokenCallback& onToken = {});

} // namespace engine
