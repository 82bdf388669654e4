#include "session.h"

#include <chrono>
#include <stdexcept>

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
} // namespace

void GenerationRequest::validate() const
{
    if (maxTokens < 0 || maxTokens > (1 << 20))
        throw std::invalid_argument("max tokens must be between 0 and 1048576, got " + std::to_string(maxTokens));
    sampling.validate();
}

GenerationResult generate(std::shared_ptr<const Model> model, Scheduler& scheduler, const GenerationRequest& request,
    int contextLength, const TokenCallback& onToken)
{
    request.validate();
    const auto start = Clock::now();
    const Tokenizer& tokenizer = model->tokenizer();
    GenerationResult result;
    result.promptIds = tokenizer.encode(request.prompt, request.addBos && tokenizer.bos() >= 0);
    if (result.promptIds.empty())
        throw std::invalid_argument("the prompt is empty and the model has no BOS token to start from");

    InferenceContext context(model, contextLength);
    if (int(result.promptIds.size()) >= context.contextLength())
        throw std::length_error("the prompt has " + std::to_string(result.promptIds.size())
            + " tokens, which does not fit in the context length of " + std::to_string(context.contextLength()));

    Sampler sampler(request.sampling);
    Detokenizer detok(tokenizer, /*stripLeadingSpace=*/false);
    std::vector<int32_t> history = result.promptIds;
    GenerationStats& stats = result.stats;
    stats.promptTokens = int(result.promptIds.size());

    const auto prefillStart = Clock::now();
    std::span<const float> logits = context.eval(scheduler, result.promptIds);
    stats.prefillMs = msSince(prefillStart);
    stats.stopReason = "max_tokens";

    Clock::time_point decodeStart;
    for (int i = 0; i < request.maxTokens; ++i) {
        const int32_t id = sampler.sample(logits, history);
        if (i == 0) {
            stats.timeToFirstTokenMs = msSince(start);
            decodeStart = Clock::now();
        }
        if (request.stopAtEos && tokenizer.isEndOfGeneration(id)) {
            stats.stopReason = "eos";
            break;
        }
        history.push_back(id);
        result.tokenIds.push_back(id);
        ++stats.generatedTokens;
        const std::string piece = detok.push(id);
        result.text += piece;
        if (onToken && !onToken(id, piece)) {
            stats.stopReason = "cancelled";
            break;
        }
        if (i + 1 == request.maxTokens)
            break;
        if (context.position() >= context.contextLength()) {
            stats.stopReason = "context_full";
            break;
        }
        logits = context.eval(scheduler, std::span<const int32_t>(&id, 1));
    }
    const std::string tail = detok.flush();
    result.text += tail;
    if (!tail.empty() && onToken)
        onToken(-1, tail);
    if (stats.generatedTokens > 0)
        stats.decodeMs = msSince(decodeStart);
    stats.totalMs = msSince(start);
    return result;
}

} // namespace engine
