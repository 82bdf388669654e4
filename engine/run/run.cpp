#include "engine/run/run.h"

#include "engine/parallel/tracepump.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <stdexcept>

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
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
    sampling.validate();
    scheduler.validate();
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
    req.validate();
    const int threads = scheduler.threads();
    // Clock calibration and trace buffers come before the run starts: the first traced run must not count them.
    std::optional<TraceRecorder> recorder; // only traced runs pay for the per-slot buffers
    if (req.trace) {
        TraceRecorder::calibrateClock();
        recorder.emplace(threads + 1);
    }
    std::optional<TracePump> pump; // started before the run's clock, like the buffers
    if (listener && req.trace)
        pump.emplace(
            *recorder, [listener](std::vector<TraceEvent>&& batch) { listener->onTraceBatch(std::move(batch)); });
    RunTimes times;
    times.start = Clock::now();
    if (recorder)
        recorder->start(times.start);
    struct TracingScope { // detach the recorder however the run ends
        Scheduler& scheduler;
        ~TracingScope() { scheduler.setTraceRecorder(nullptr); }
    } tracingScope { scheduler };
    if (req.trace)
        scheduler.setTraceRecorder(&*recorder);
    scheduler.resetRegionStats();

    std::atomic<bool> stopRequested { false };
    auto wantsStop = [&] {
        if (pump && pump->failed())
            return true;
        if (!stopRequested.load(std::memory_order_relaxed) && listener && listener->shouldStop())
            stopRequested.store(true);
        return stopRequested.load(std::memory_order_relaxed);
    };

    const int n = int(req.prompts.size());
    std::vector<std::unique_ptr<SequenceState>> states;
    std::vector<TokenCallback> callbacks;
    for (int i = 0; i < n; ++i) {
        GenerationRequest g;
        g.prompt = req.prompts[size_t(i)];
        g.sampling = req.sampling;
        g.maxTokens = req.maxTokens;
        g.addBos = req.addBos;
        g.stopAtEos = req.stopAtEos;
        g.sequence = i;
        g.chat = req.chat;
        g.systemPrompt = req.systemPrompt;
        states.push_back(std::make_unique<SequenceState>(model, g, req.contextLength, i, times.start, &scheduler));
        callbacks.push_back([&, i](int32_t id, std::string_view text) {
            if (listener)
                listener->onToken(i, id, text);
            return !wantsStop();
        });
    }

    if (listener)
        for (const auto& s : states)
            listener->onPromptTokens(s->sequence(), int(s->result().promptIds.size()));

    // Runs fn(i) for every sequence with the strategy's kind of parallelism.
    auto forEachSequence = [&](const std::function<void(int)>& fn) {
        switch (req.strategy) {
        case Strategy::IntraOp:
            for (int i = 0; i < n; ++i)
                fn(i);
            break;
        case Strategy::Request:
        case Strategy::Hybrid:
            scheduler.execute([&] {
                tbb::parallel_for(
                    tbb::blocked_range<int>(0, n, 1),
                    [&](const tbb::blocked_range<int>& r) {
                        for (int i = r.begin(); i != r.end(); ++i) {
                            if (req.strategy == Strategy::Request) {
                                Scheduler::InlineRegions inlineRegions; // one sequence = one task, no nested split
                                fn(i);
                            } else {
                                fn(i);
                            }
                        }
                    },
                    tbb::simple_partitioner());
            });
            break;
        case Strategy::Pipeline:
            break; // handled by runPipelineRound
        }
    };

    // Layer pipeline: one round feeds every active sequence's next input through G serial stages,
    // each owning a contiguous group of layers (the last also computes logits and samples).
    const int layers = model->config().layers;
    const int groups = std::clamp(threads, 1, layers);
    auto runPipelineRound = [&](std::vector<SequenceState*> active) {
        if (active.empty())
            return;
        size_t next = 0;
        auto input = tbb::make_filter<void, SequenceState*>(
            tbb::filter_mode::serial_in_order, [&](tbb::flow_control& fc) -> SequenceState* {
                if (next >= active.size()) {
                    fc.stop();
                    return nullptr;
                }
                SequenceState* s = active[next++];
                Scheduler::InlineRegions inlineRegions;
                s->context().beginStep(scheduler, s->nextInput(), s->sequence());
                return s;
            });
        auto stage = [&](int g) {
            const int l0 = layers * g / groups;
            const int l1 = layers * (g + 1) / groups;
            return tbb::make_filter<SequenceState*, SequenceState*>(
                tbb::filter_mode::serial_in_order, [&, l0, l1](SequenceState* s) {
                    Scheduler::InlineRegions inlineRegions;
                    s->context().runLayers(scheduler, l0, l1);
                    return s;
                });
        };
        auto sink = tbb::make_filter<SequenceState*, void>(tbb::filter_mode::serial_in_order, [&](SequenceState* s) {
            Scheduler::InlineRegions inlineRegions;
            const auto logits = s->context().finishStep(scheduler);
            s->acceptLogits(scheduler, logits, callbacks[size_t(s->sequence())]);
        });
        tbb::filter<void, SequenceState*> chain = input & stage(0);
        for (int g = 1; g < groups; ++g)
            chain = chain & stage(g);
        scheduler.execute([&] { tbb::parallel_pipeline(std::max<size_t>(1, active.size()), chain & sink); });
    };

    // The calling thread stays inside the arena for the whole run: entering it once per parallel
    // region cost a few microseconds each (and an observer notification under a lock when tracing).
    scheduler.execute([&] {
        // ---- prefill phase: every prompt's forward pass and first token
        if (listener)
            listener->onPhase(Phase::Prefill);
        times.prefillStart = Clock::now();
        if (req.strategy == Strategy::Pipeline) {
            std::vector<SequenceState*> active;
            for (auto& s : states) {
                if (s->done())
                    continue;
                if (int(s->nextInput().size()) > InferenceContext::kMaxBatch) {
                    Scheduler::InlineRegions inlineRegions; // too long for one pipeline item: prefill in place
                    s->prefill(scheduler, callbacks[size_t(s->sequence())]);
                } else {
                    active.push_back(s.get());
                }
            }
            runPipelineRound(active);
        } else {
            forEachSequence([&](int i) {
                if (!wantsStop())
                    states[size_t(i)]->prefill(scheduler, callbacks[size_t(i)]);
            });
        }
        times.prefillEnd = Clock::now();

        // ---- decode phase
        if (listener)
            listener->onPhase(Phase::Decode);
        if (req.strategy == Strategy::Pipeline) {
            for (;;) {
                std::vector<SequenceState*> active;
                for (auto& s : states) {
                    if (!s->done() && wantsStop())
                        s->stop(StopReason::Cancelled);
                    if (s->done())
                        continue;
                    if (s->context().position() >= s->context().contextLength()) {
                        s->stop(StopReason::ContextFull);
                        continue;
                    }
                    active.push_back(s.get());
                }
                if (active.empty())
                    break;
                runPipelineRound(active);
            }
        } else {
            forEachSequence([&](int i) {
                SequenceState& s = *states[size_t(i)];
                while (!s.done()) {
                    if (wantsStop()) {
                        s.stop(StopReason::Cancelled);
                        break;
                    }
                    s.step(scheduler, callbacks[size_t(i)]);
                }
            });
        }
        times.decodeEnd = Clock::now();
    });

    RunResult result;
    result.strategy = req.strategy;
    result.threads = threads;
    for (auto& s : states) {
        if (wantsStop() && !s->done())
            s->stop(StopReason::Cancelled);
        const size_t before = s->result().text.size();
        s->finish();
        if (listener && s->result().text.size() > before)
            listener->onToken(s->sequence(), -1, std::string_view(s->result().text).substr(before));
    }
    scheduler.setTraceRecorder(nullptr);
    times.end = Clock::now();

    if (pump)
        pump->finish(); // the last trace batch, or what the listener threw on the pump's thread
    if (recorder)
        result.trace = recorder->all();
    std::vector<GenerationStats> stats;
    for (const auto& s : states) {
        stats.push_back(s->result().stats);
        result.cancelled = result.cancelled || s->result().stats.stopReason == StopReason::Cancelled;
    }
    result.metrics
        = computeRunMetrics(times, stats, scheduler.regionStats(), recorder ? &result.trace : nullptr, threads);
    for (auto& s : states) {
        if (listener)
            listener->onSequenceDone(s->sequence(), s->result());
        result.sequences.push_back(s->takeResult());
    }
    return result;
}

} // namespace engine
