// The layer pipeline strategy: contiguous groups of layers as the serial stages of a
// tbb::parallel_pipeline, one group per thread; the sequences flow through the stages, so while one
// sequence is in the later layers the next is already in the earlier ones.
#include "engine/run/strategies.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>

namespace engine {

namespace {

// One round: every active sequence's next input (its prompt, or its last token) goes through the
// stages once. The input stage embeds it, each group stage runs its layers, the last stage computes
// the logits and samples. Each stage is one task, so its regions run inline, not split again.
void runRound(const RunSequences& run, const std::vector<SequenceState*>& active)
{
    if (active.empty())
        return;
    Scheduler& scheduler = run.scheduler;
    const int layers = run.model.config().layers;
    const int groups = std::clamp(scheduler.threads(), 1, layers);
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
        s->acceptLogits(scheduler, logits, run.callbacks[size_t(s->sequence())]);
    });
    tbb::filter<void, SequenceState*> chain = input & stage(0);
    for (int g = 1; g < groups; ++g)
        chain = chain & stage(g);
    scheduler.execute([&] { tbb::parallel_pipeline(std::max<size_t>(1, active.size()), chain & sink); });
}

// Prefill: one round for every prompt, except that a prompt longer than one forward pass takes
// (kMaxBatch tokens) is prefilled in place first, on the calling thread.
void prefill(const RunSequences& run)
{
    std::vector<SequenceState*> active;
    for (const auto& s : run.states) {
        if (s->done())
            continue;
        if (int(s->nextInput().size()) > InferenceContext::kMaxBatch) {
            Scheduler::InlineRegions inlineRegions;
            s->prefill(run.scheduler, run.callbacks[size_t(s->sequence())]);
        } else {
            active.push_back(s.get());
        }
    }
    runRound(run, active);
}

// Decode: rounds of every sequence still going, until none is.
void decode(const RunSequences& run)
{
    for (;;) {
        std::vector<SequenceState*> active;
        for (const auto& s : run.states) {
            if (!s->done() && run.wantsStop())
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
        runRound(run, active);
    }
}

} // namespace

void runPipeline(Phase phase, const RunSequences& run)
{
    switch (phase) {
    case Phase::Prefill:
        prefill(run);
        break;
    case Phase::Decode:
        decode(run);
        break;
    }
}

} // namespace engine
