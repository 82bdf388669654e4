#include "engine/run/generation.h"

#include "engine/run/tokenprobability.h"
#include "engine/text/chattemplate.h"

#include <optional>
#include <stdexcept>

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
} // namespace

const char* stopReasonName(StopReason reason)
{
    switch (reason) {
    case StopReason::MaxTokens:
        return "max_tokens";
    case StopReason::Eos:
        return "eos";
    case StopReason::ContextFull:
        return "context_full";
    case StopReason::Cancelled:
        return "cancelled";
    }
    return "?";
}

void GenerationRequest::validate() const
{
    if (maxTokens < 0 || maxTokens > (1 << 20))
        throw std::invalid_argument("max tokens must be between 0 and 1048576, got " + std::to_string(maxTokens));
    if (topAlternatives < 0 || topAlternatives > kMaxTopAlternatives)
        throw std::invalid_argument("top alternatives must be between 0 (off) and "
            + std::to_string(kMaxTopAlternatives) + ", got " + std::to_string(topAlternatives));
    sampling.validate();
}

SequenceState::SequenceState(std::shared_ptr<const Model> model, const GenerationRequest& request, int contextLength,
    int sequence, Clock::time_point start, Scheduler* scheduler)
    : m_model(std::move(model))
    , m_request(request)
    , m_sequence(sequence)
    , m_start(start)
    , m_context(m_model, contextLength)
    , m_sampler(request.sampling)
    , m_detok(m_model->tokenizer(), /*stripLeadingSpace=*/false)
{
    request.validate();
    const Tokenizer& tokenizer = m_model->tokenizer();
    const int64_t tokenizeBegin = scheduler && scheduler->traceRecorder() ? scheduler->traceRecorder()->nowNs() : 0;
    const ChatTemplate family = request.chat ? detectChatTemplate(tokenizer.vocab()) : ChatTemplate::None;
    m_result.chatTemplate = chatTemplateName(family);
    if (family != ChatTemplate::None) {
        const std::string eos = tokenizer.eos() >= 0 ? tokenizer.piece(tokenizer.eos()) : std::string("</s>");
        m_result.promptIds
            = encodeChatPrompt(tokenizer, formatChatPrompt(family, request.systemPrompt, request.prompt, eos));
    } else {
        m_result.promptIds
            = tokenizer.encode(request.prompt, request.addBos && tokenizer.vocab().addBos && tokenizer.bos() >= 0);
    }
    for (int32_t id : request.forcedTokens)
        if (id < 0 || id >= tokenizer.size())
            throw std::invalid_argument("forced token " + std::to_string(id) + " is not in the vocabulary of "
                + std::to_string(tokenizer.size()) + " tokens");
    if (m_result.promptIds.empty())
        throw std::invalid_argument("the prompt is empty and the model has no BOS token to start from");
    if (int(m_result.promptIds.size()) >= m_context.contextLength())
        throw std::length_error("the prompt has " + std::to_string(m_result.promptIds.size())
            + " tokens, which does not fit in the context length of " + std::to_string(m_context.contextLength()));
    if (scheduler && scheduler->traceRecorder())
        scheduler->recordSerialSince(
            RegionInfo { .op = Op::Tokenize, .layer = -1, .sequence = sequence, .position = 0, .tokens = 1 },
            tokenizeBegin);
    m_history = m_result.promptIds;
    m_result.stats.promptTokens = int(m_result.promptIds.size());
    if (request.maxTokens == 0)
        m_done = true;
}

std::span<const int32_t> SequenceState::nextInput() const
{
    if (!m_prefilled)
        return m_result.promptIds;
    return { &m_last, 1 };
}

void SequenceState::prefill(Scheduler& scheduler, const TokenCallback& onToken)
{
    if (m_prefilled || m_done)
        return;
    const auto t0 = Clock::now();
    const auto logits = m_context.eval(scheduler, m_result.promptIds, m_sequence);
    m_result.stats.prefillMs = msSince(t0);
    acceptLogits(scheduler, logits, onToken);
}

void SequenceState::step(Scheduler& scheduler, const TokenCallback& onToken)
{
    if (m_done)
        return;
    if (!m_prefilled) {
        prefill(scheduler, onToken);
        return;
    }
    if (m_context.position() >= m_context.contextLength()) {
        stop(StopReason::ContextFull);
        return;
    }
    const auto t0 = Clock::now();
    const auto logits = m_context.eval(scheduler, std::span<const int32_t>(&m_last, 1), m_sequence);
    acceptLogits(scheduler, logits, onToken);
    m_stepMs += msSince(t0);
    ++m_steps;
}

void SequenceState::acceptLogits(Scheduler& scheduler, std::span<const float> logits, const TokenCallback& onToken)
{
    GenerationStats& stats = m_result.stats;
    const bool first = !m_prefilled;
    if (first && stats.prefillMs == 0.0)
        stats.prefillMs = msSince(m_start); // layer pipeline: prefill() did not run, so time from the start
    m_prefilled = true;
    int32_t id = -1;
    const RegionInfo sampling {
        .op = Op::Sampling, .layer = -1, .sequence = m_sequence, .position = m_context.position(), .tokens = 1
    };
    double probability = 0.0;
    const size_t index = m_result.tokenIds.size();
    const int32_t forced = index < m_request.forcedTokens.size() ? m_request.forcedTokens[index] : -1;
    std::optional<TokenAlternatives> alternatives;
    scheduler.serial(sampling, [&] {
        if (m_request.topAlternatives > 0) {
            alternatives.emplace();
            id = m_sampler.sample(logits, m_history, m_request.topAlternatives, *alternatives, forced);
        } else {
            id = m_sampler.sample(logits, m_history);
        }
        if (forced >= 0)
            id = forced; // sampled all the same: the RNG advances as it would have
        if (m_request.recordTokenProbabilities)
            probability = drawnTokenProbability(m_sampler, logits, m_history, id);
    });
    if (alternatives) {
        alternatives->chosen = id;
        alternatives->forced = forced >= 0;
        const Tokenizer& tokenizer = m_model->tokenizer();
        for (TokenAlternative& a : alternatives->candidates) {
            a.text = tokenizer.tokenBytes(a.id);
            if (a.text.empty())
                a.text = tokenizer.piece(a.id); // control tokens: show their markup
        }
    }
    if (first) {
        stats.timeToFirstTokenMs = msSince(m_start);
        m_decodeStart = Clock::now();
    }
    m_lastToken = Clock::now();
    if (m_request.stopAtEos && m_model->tokenizer().isEndOfGeneration(id)) {
        stop(StopReason::Eos);
        return;
    }
    m_history.push_back(id);
    m_result.tokenIds.push_back(id);
    if (m_request.recordTokenProbabilities)
        m_result.tokenProbabilities.push_back(probability);
    if (alternatives)
        m_result.alternatives.push_back(std::move(*alternatives));
    m_last = id;
    ++stats.generatedTokens;
    const std::string piece = m_detok.push(id);
    m_result.text += piece;
    if (onToken && !onToken(id, piece)) {
        stop(StopReason::Cancelled);
        return;
    }
    if (stats.generatedTokens >= m_request.maxTokens) {
        stop(StopReason::MaxTokens);
        return;
    }
    if (m_context.position() >= m_context.contextLength())
        stop(StopReason::ContextFull);
}

void SequenceState::stop(StopReason reason)
{
    if (m_done)
        return;
    m_done = true;
    m_result.stats.stopReason = reason;
}

void SequenceState::finish()
{
    if (m_finished)
        return;
    m_finished = true;
    m_done = true;
    m_result.text += m_detok.flush();
    // This sequence's own decode time: its steps (forward + sampling), not the time it waited while a run worked on
    // other sequences (intra-op decodes them one after another, request-parallel a thread's share in turn). The layer
    // pipeline feeds tokens without steps: there, the time from its first token to its last.
    if (m_result.stats.generatedTokens > 0)
        m_result.stats.decodeMs
            = m_steps > 0 ? m_stepMs : std::chrono::duration<double, std::milli>(m_lastToken - m_decodeStart).count();
    m_result.stats.totalMs = msSince(m_start);
}

std::vector<int32_t> branchTokens(std::span<const int32_t> generated, size_t index, int32_t id)
{
    if (index > generated.size())
        throw std::invalid_argument("cannot branch at token " + std::to_string(index) + ": the generation has "
            + std::to_string(generated.size()) + " tokens");
    std::vector<int32_t> forced(generated.begin(), generated.begin() + ptrdiff_t(index));
    forced.push_back(id);
    return forced;
}

GenerationResult generate(std::shared_ptr<const Model> model, Scheduler& scheduler, const GenerationRequest& request,
    int contextLength, const TokenCallback& onToken)
{
    const auto start = Clock::now();
    SequenceState state(std::move(model), request, contextLength, request.sequence, start);
    state.prefill(scheduler, onToken);
    while (!state.done())
        state.step(scheduler, onToken);
    const size_t before = state.result().text.size();
    state.finish();
    if (onToken && state.result().text.size() > before)
        onToken(-1, std::string_view(state.result().text).substr(before));
    return state.takeResult();
}

} // namespace engine
