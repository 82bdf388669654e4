#include "engine/run/run.h"

#include "engine/model/inferencecontext.h"
#include "engine/parallel/tracepump.h"
#include "engine/run/strategies.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace engine {

namespace {

using Clock = std::chrono::steady_clock;

// Attaches a run's trace recorder (if any) to the scheduler, and detaches it however the run ends.
class TraceAttachment {
public:
    TraceAttachment(Scheduler& scheduler, TraceRecorder* recorder)
        : m_scheduler(scheduler)
    {
        if (recorder)
            m_scheduler.setTraceRecorder(recorder);
    }
    ~TraceAttachment() { detach(); }
    TraceAttachment(const TraceAttachment&) = delete;
    TraceAttachment& operator=(const TraceAttachment&) = delete;
    void detach() { m_scheduler.setTraceRecorder(nullptr); }

private:
    Scheduler& m_scheduler;
};

// One SequenceState per prompt, tokenised (and, when tracing, the tokenising recorded).
std::vector<std::unique_ptr<SequenceState>> makeSequences(
    const std::shared_ptr<const Model>& model, const RunRequest& req, Clock::time_point start, Scheduler& scheduler)
{
    std::vector<std::unique_ptr<SequenceState>> states;
    for (int i = 0; i < int(req.prompts.size()); ++i) {
        GenerationRequest g;
        g.prompt = req.prompts[size_t(i)];
        g.sampling = req.sampling;
        g.maxTokens = req.maxTokens;
        g.addBos = req.addBos;
        g.stopAtEos = req.stopAtEos;
        g.sequence = i;
        g.chat = req.chat;
        g.systemPrompt = req.systemPrompt;
        g.recordTokenProbabilities = req.recordTokenProbabilities;
        g.topAlternatives = req.topAlternatives;
        if (size_t(i) < req.forcedTokens.size())
            g.forcedTokens = req.forcedTokens[size_t(i)];
        states.push_back(std::make_unique<SequenceState>(model, g, req.contextLength, i, start, &scheduler));
    }
    return states;
}

// Each sequence's token callback: streams the token to the listener, and asks whether to go on.
std::vector<TokenCallback> tokenCallbacks(int sequences, RunListener* listener, StopCheck& wantsStop)
{
    std::vector<TokenCallback> callbacks;
    for (int i = 0; i < sequences; ++i)
        callbacks.push_back([listener, &wantsStop, i](int32_t id, std::string_view text) {
            if (listener)
                listener->onToken(i, id, text);
            return !wantsStop();
        });
    return callbacks;
}

// After the phases: marks what the run's stop left unfinished as cancelled, ends each sequence's
// timing and streams the UTF-8 bytes it still held.
void finishSequences(
    const std::vector<std::unique_ptr<SequenceState>>& states, StopCheck& wantsStop, RunListener* listener)
{
    for (const auto& s : states) {
        if (wantsStop() && !s->done())
            s->stop(StopReason::Cancelled);
        const size_t before = s->result().text.size();
        s->finish();
        if (listener && s->result().text.size() > before)
            listener->onToken(s->sequence(), -1, std::string_view(s->result().text).substr(before));
    }
}

std::vector<GenerationStats> sequenceStats(const std::vector<std::unique_ptr<SequenceState>>& states)
{
    std::vector<GenerationStats> stats;
    for (const auto& s : states)
        stats.push_back(s->result().stats);
    return stats;
}

} // namespace

const char* strategyName(Strategy s)
{
    switch (s) {
    case Strategy::IntraOp:
        return "intra-op";
    case Strategy::Request:
        return "request";
    case Strategy::Hybrid:
        return "hybrid";
    case Strategy::Pipeline:
        return "pipeline";
    }
    return "?";
}

std::optional<Strategy> strategyFromName(const std::string& name)
{
    for (Strategy s : allStrategies())
        if (name == strategyName(s))
            return s;
    return std::nullopt;
}

const char* phaseName(Phase phase)
{
    switch (phase) {
    case Phase::Prefill:
        return "prefill";
    case Phase::Decode:
        return "decode";
    }
    return "?";
}

const std::vector<Strategy>& allStrategies()
{
    static const std::vector<Strategy> all { Strategy::IntraOp, Strategy::Request, Strategy::Hybrid,
        Strategy::Pipeline };
    return all;
}

void RunRequest::validate() const
{
    if (prompts.empty())
        throw std::invalid_argument("a run needs at least one prompt");
    if (prompts.size() > 256)
        throw std::invalid_argument("at most 256 prompts per run, got " + std::to_string(prompts.size()));
    if (maxTokens < 0 || maxTokens > (1 << 20))
        throw std::invalid_argument("max tokens must be between 0 and 1048576, got " + std::to_string(maxTokens));
    if (contextLength < 0 || contextLength > (1 << 20))
        throw std::invalid_argument("context length must be between 0 (model default) and 1048576");
    if (topAlternatives < 0 || topAlternatives > kMaxTopAlternatives)
        throw std::invalid_argument("top alternatives must be between 0 (off) and "
            + std::to_string(kMaxTopAlternatives) + ", got " + std::to_string(topAlternatives));
    if (forcedTokens.size() > prompts.size())
        throw std::invalid_argument("forced tokens given for " + std::to_string(forcedTokens.size())
            + " sequences, but the run has " + std::to_string(prompts.size()) + " prompts");
    sampling.validate();
    scheduler.validate();
}

void RunRequest::validateFor(int trainedContext) const
{
    validate();
    resolveContextLength(contextLength, trainedContext, allowContextOverflow);
}

ContextOverflowError::ContextOverflowError(int requested_, int trained_)
    : std::invalid_argument("a context of " + std::to_string(requested_)
        + " tokens is beyond the model's trained context length of " + std::to_string(trained_)
        + " tokens: positions past " + std::to_string(trained_)
        + " were never trained and the KV cache grows with the context. To run it anyway, allow context "
          "overflow (--allow-ctx-overflow; in the window, \"Allow context beyond the model's trained length\")")
    , requested(requested_)
    , trained(trained_)
{
}

int resolveContextLength(int requested, int trained, bool allowOverflow)
{
    const int ctx = requested > 0 ? requested : std::min(trained, kDefaultContextCap);
    if (ctx > trained && !allowOverflow)
        throw ContextOverflowError(ctx, trained);
    return ctx;
}

RunResult executeRun(std::shared_ptr<const Model> model, const RunRequest& request, RunListener* listener)
{
    request.validate();
    Scheduler scheduler(request.scheduler);
    return executeRun(std::move(model), request, scheduler, listener);
}

RunResult executeRun(
    std::shared_ptr<const Model> model, const RunRequest& request, Scheduler& scheduler, RunListener* listener)
{
    RunRequest req = request;
    req.scheduler = scheduler.options();
    req.validateFor(model->config().contextLength);
    const int threads = scheduler.threads();

    // Clock calibration, the trace buffers and the trace pump come before the run's clock starts:
    // the first traced run must not count them.
    std::optional<TraceRecorder> recorder; // only traced runs pay for the per-slot buffers
    if (req.trace) {
        TraceRecorder::calibrateClock();
        recorder.emplace(threads + 1);
    }
    std::optional<TracePump> pump;
    if (listener && req.trace)
        pump.emplace(
            *recorder, [listener](std::vector<TraceEvent>&& batch) { listener->onTraceBatch(std::move(batch)); });

    RunTimes times;
    times.start = Clock::now();
    if (recorder)
        recorder->start(times.start);
    TraceAttachment tracing(scheduler, recorder ? &*recorder : nullptr);
    scheduler.resetRegionStats();

    StopCheck wantsStop(listener, pump ? &*pump : nullptr);
    const auto states = makeSequences(model, req, times.start, scheduler);
    const auto callbacks = tokenCallbacks(int(states.size()), listener, wantsStop);
    if (listener)
        for (const auto& s : states)
            listener->onPromptTokens(s->sequence(), int(s->result().promptIds.size()));
    const RunSequences sequences { *model, scheduler, states, callbacks, wantsStop };

    // The calling thread stays inside the arena for the whole run: entering it once per parallel
    // region cost a few microseconds each (and an observer notification under a lock when tracing).
    scheduler.execute([&] {
        if (listener)
            listener->onPhase(Phase::Prefill);
        times.prefillStart = Clock::now();
        if (recorder)
            times.trace.prefillStart = recorder->nowNs();
        runPhase(req.strategy, Phase::Prefill, sequences);
        times.prefillEnd = Clock::now();
        if (recorder)
            times.trace.prefillEnd = recorder->nowNs();

        if (listener)
            listener->onPhase(Phase::Decode);
        runPhase(req.strategy, Phase::Decode, sequences);
        times.decodeEnd = Clock::now();
        if (recorder)
            times.trace.decodeEnd = recorder->nowNs();
    });
    finishSequences(states, wantsStop, listener);
    tracing.detach();
    times.end = Clock::now();
    if (recorder)
        times.trace.end = recorder->nowNs();

    if (pump)
        pump->finish(); // the last trace batch, or what the listener threw on the pump's thread
    RunResult result;
    result.strategy = req.strategy;
    result.threads = threads;
    if (recorder)
        result.trace = recorder->all();
    result.metrics = computeRunMetrics(
        times, sequenceStats(states), scheduler.regionStats(), recorder ? &result.trace : nullptr, threads);
    if (recorder)
        result.metrics.droppedTraceEvents = recorder->dropped();
    for (const auto& s : states) {
        result.cancelled = result.cancelled || s->result().stats.stopReason == StopReason::Cancelled;
        if (listener)
            listener->onSequenceDone(s->sequence(), s->result());
        result.sequences.push_back(s->takeResult());
    }
    return result;
}

} // namespace engine
