#include "engine/measure/sweep.h"

#include "engine/measure/analysis.h"
#include "engine/measure/machine.h"
#include "engine/run/runsettings.h"

#include <algorithm>
#include <stdexcept>

namespace engine {

void SweepRequest::validate() const
{
    if (strategies.empty())
        throw std::invalid_argument("a sweep needs at least one strategy");
    if (threads.empty())
        throw std::invalid_argument("a sweep needs at least one thread count");
    for (int t : threads) {
        SchedulerOptions o = workload.scheduler;
        o.threads = t;
        o.validate();
    }
    if (repeat < 1 || repeat > 1000)
        throw std::invalid_argument("repeat must be between 1 and 1000, got " + std::to_string(repeat));
    if (warmup < 0 || warmup > 100)
        throw std::invalid_argument("warm-up runs must be between 0 and 100, got " + std::to_string(warmup));
    RunRequest w = workload;
    w.scheduler.threads = 1;
    w.validate();
    if (scaledWork && size_t(*std::max_element(threads.begin(), threads.end())) * workload.prompts.size() > 256)
        throw std::invalid_argument("scaled work would need more than 256 prompts");
}

SweepResult runSweep(std::shared_ptr<const Model> model, const SweepRequest& request, const SweepProgress& progress)
{
    request.validate();
    // Before any point runs: a context the model was not trained for is refused up front.
    resolveContextLength(
        request.workload.contextLength, model->config().contextLength, request.workload.allowContextOverflow);
    std::vector<int> threads = request.threads;
    std::sort(threads.begin(), threads.end());
    threads.erase(std::unique(threads.begin(), threads.end()), threads.end());

    SweepResult result;
    result.machine = machineDescription();
    // The run settings in the one codec's form, less what the sweep sets per point (strategy, tracing),
    // with the sweep's own settings; "threads" is the list of thread counts.
    result.workload = toJson(request.workload);
    result.workload.erase("strategy");
    result.workload.erase("trace");
    result.workload["model"] = model->source();
    result.workload["repeat"] = request.repeat;
    result.workload["warmup"] = request.warmup;
    result.workload["threads"] = threads;
    result.workload["scaled_work"] = request.scaledWork;

    // Which thread counts the scheduler really pinned: pinning is skipped above the CPUs this process may use,
    // so "pinned" is true only of these.
    nlohmann::json pinned = nlohmann::json::array();
    for (int p : threads) {
        SchedulerOptions options = request.workload.scheduler;
        options.threads = p;
        if (!Scheduler::pinnedCpus(options).empty())
            pinned.push_back(p);
    }
    result.workload["pinned_threads"] = pinned;

    const CpuTimes sweepStart = readCpuTimes();
    const int total = int(request.strategies.size() * threads.size())
        * (request.repeat + request.warmup + (request.traceSerialFraction ? 1 : 0));
    int done = 0;
    bool cancelled = false;
    for (Strategy strategy : request.strategies) {
        StrategySweep sweep;
        sweep.strategy = strategyName(strategy);
        sweep.scaledWork = request.scaledWork;
        for (int p : threads) {
            RunRequest w = request.workload;
            w.strategy = strategy;
            w.trace = false;
            if (request.scaledWork) {
                w.prompts.clear();
                for (int copy = 0; copy < p; ++copy)
                    w.prompts.insert(w.prompts.end(), request.workload.prompts.begin(), request.workload.prompts.end());
            }
            SchedulerOptions options = request.workload.scheduler;
            options.threads = p;
            Scheduler scheduler(options);
            TimingSamples prefill { p, {} }, decode { p, {} }, wall { p, {} };
            const CpuTimes pointStart = readCpuTimes();
            for (int run = 0; run < request.warmup + request.repeat && !cancelled; ++run) {
                const std::string label = std::string(strategyName(strategy)) + ", " + std::to_string(p)
                    + (p == 1 ? " thread" : " threads")
                    + (run < request.warmup ? ", warm-up"
                                            : ", run " + std::to_string(run - request.warmup + 1) + "/"
                                + std::to_string(request.repeat));
                if (progress && !progress(done, total, label)) {
                    cancelled = true;
                    break;
                }
                struct StopListener : RunListener {
                    const std::function<bool()>* stop = nullptr;
                    bool shouldStop() override { return *stop && (*stop)(); }
                } listener;
                listener.stop = &request.shouldStop;
                const RunResult r = executeRun(model, w, scheduler, &listener);
                ++done;
                if (r.cancelled) {
                    cancelled = true;
                    break;
                }
                if (run < request.warmup)
                    continue;
                prefill.seconds.push_back(r.metrics.prefillMs / 1000.0);
                decode.seconds.push_back(r.metrics.decodeMs / 1000.0);
                wall.seconds.push_back(r.metrics.wallMs / 1000.0);
                if (p == threads.front() && run == request.warmup) {
                    // Decode-phase work: each sequence's first token comes out of the prefill phase.
                    sweep.promptTokens = r.metrics.promptTokens;
                    sweep.generatedTokens = 0;
                    for (const auto& s : r.sequences)
                        sweep.generatedTokens += std::max(0, s.stats.generatedTokens - 1);
                    if (request.scaledWork) { // the exports want the one-copy workload's counts
                        sweep.promptTokens /= p;
                        sweep.generatedTokens /= p;
                    }
                }
            }
            if (!prefill.seconds.empty() && !cancelled && request.traceSerialFraction) {
                if (progress
                    && !progress(done, total,
                        std::string(strategyName(strategy)) + ", " + std::to_string(p)
                            + (p == 1 ? " thread" : " threads") + ", traced")) {
                    cancelled = true;
                } else {
                    RunRequest traced = w;
                    traced.trace = true;
                    const RunResult r = executeRun(model, traced, scheduler);
                    ++done;
                    const RunAnalysis a = analyzeRun(r);
                    if (!r.cancelled && a.valid)
                        sweep.traced.push_back(
                            { p, a.prefill.serialFraction(), a.decode.serialFraction(), a.total.serialFraction() });
                    // Thread counts ascend, so the last one within the cores is the run replayed.
                    if (!r.cancelled && request.predictWith && strategy == Strategy::IntraOp
                        && p <= std::max(1, request.predictWith->cores))
                        sweep.prediction = predictScaling(
                            r, *model, *request.predictWith, request.predictThreads, PredictionTarget::WiderMachine);
                }
            }
            if (!prefill.seconds.empty()) {
                sweep.backgroundLoads.push_back({ p, backgroundLoadBetween(pointStart, readCpuTimes()) });
                sweep.prefill.push_back(prefill);
                sweep.decode.push_back(decode);
                sweep.total.push_back(wall);
            }
            if (cancelled)
                break;
        }
        if (!sweep.total.empty())
            result.strategies.push_back(std::move(sweep));
        if (cancelled)
            break;
    }
    result.workload["cancelled"] = cancelled;
    result.backgroundLoad = backgroundLoadBetween(sweepStart, readCpuTimes());
    if (progress && !cancelled)
        progress(done, total, "done");
    analyzeSweep(result);
    return result;
}

} // namespace engine
