#include "engine/measure/bench.h"

#include "engine/format/gguffile.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/measure/roofline.h"
#include "engine/measure/statistics.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/sampler.h"
#include "engine/parallel/trace.h"
#include "engine/run/run.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
} // namespace

void BenchOptions::validate() const
{
    if (threads.empty())
        throw std::invalid_argument("bench needs at least one thread count");
    for (int t : threads)
        SchedulerOptions { t, partitioner, grain }.validate();
    if (promptTokens < 1 || promptTokens > 8192)
        throw std::invalid_argument("prompt tokens must be between 1 and 8192");
    if (decodeTokens < 1 || decodeTokens > 8192)
        throw std::invalid_argument("decode tokens must be between 1 and 8192");
    if (repeat < 1 || repeat > 1000)
        throw std::invalid_argument("repeat must be between 1 and 1000");
    if (alternatives < 0 || alternatives > 100)
        throw std::invalid_argument("alternatives must be between 0 (not measured) and 100");
}

std::map<int, double> measurePeakGflopsFor(const std::vector<int>& threads, std::map<int, double> measured)
{
    std::vector<int> probes = threads;
    std::sort(probes.rbegin(), probes.rend());
    for (int t : probes) {
        const int p = std::min(t, Scheduler::hardwareThreads());
        if (!measured.count(p))
            measured[p] = measurePeakGflops(p);
    }
    return measured;
}

namespace {
// FLOPs of one prefill of `tokens` tokens from position 0 as InferenceContext::eval does it (chunks of kMaxBatch,
// the logits of each chunk's last token only), counted from the shapes by the roofline's cost model.
double prefillFlops(const Model& model, int tokens)
{
    const ModelConfig& c = model.config();
    double flops = 0;
    for (int pos = 0; pos < tokens; pos += InferenceContext::kMaxBatch) {
        const int T = std::min(InferenceContext::kMaxBatch, tokens - pos);
        flops += opCost(model, Op::Embed, 0, T, pos).flops;
        for (int l = 0; l < c.layers; ++l) {
            for (Op op :
                { Op::AttnQ, Op::AttnK, Op::AttnV, Op::Rope, Op::Attention, Op::AttnOut, Op::FfnGateUp, Op::FfnDown })
                flops += opCost(model, op, l, T, pos).flops;
            flops += 2 * (opCost(model, Op::RmsNorm, l, T, pos).flops + opCost(model, Op::Residual, l, T, pos).flops);
            // a layer's quantisations (opCost gives their mean)
            flops += double(InferenceContext::quantizedInputs(model, l, T).size())
                * opCost(model, Op::Quantize, l, T, pos).flops;
        }
        flops += opCost(model, Op::RmsNorm, 0, 1, pos).flops + opCost(model, Op::Logits, 0, 1, pos).flops
            + opCost(model, Op::Quantize, -1, 1, pos).flops;
    }
    return flops;
}
} // namespace

nlohmann::json runBench(std::shared_ptr<const Model> model, const BenchOptions& options)
{
    options.validate();
    const ModelConfig& c = model->config();
    resolveContextLength(
        options.promptTokens + options.decodeTokens + 1, c.contextLength, options.allowContextOverflow);
    const int ctx = std::min(std::max(c.contextLength, options.promptTokens + options.decodeTokens + 1),
        options.promptTokens + options.decodeTokens + 8);
    if (options.promptTokens + options.decodeTokens + 1 > ctx)
        throw std::invalid_argument("prompt + decode tokens do not fit in the context");

    // A fixed pseudo-random prompt: the arithmetic does not depend on which ids they are.
    std::mt19937 rng(7);
    std::vector<int32_t> prompt(size_t(options.promptTokens));
    for (auto& id : prompt)
        id = int32_t(3 + rng() % uint32_t(std::max(1, c.vocab - 3)));

    nlohmann::json report;
    report["machine"] = machineDescription();
    report["model"] = { { "source", model->source() }, { "name", c.name }, { "parameters", model->parameterCount() },
        { "type", model->typeSummary() }, { "weight_bytes_per_token", model->weightBytesPerToken() } };
    report["settings"] = { { "prompt_tokens", options.promptTokens }, { "decode_tokens", options.decodeTokens },
        { "repeat", options.repeat }, { "partitioner", partitionerName(options.partitioner) },
        { "grain", options.grain }, { "pin_threads", options.pinThreads }, { "alternatives", options.alternatives } };

    std::map<int, BandwidthResult> bandwidth;
    if (options.probeBandwidth) {
        nlohmann::json bw = nlohmann::json::array();
        for (const BandwidthResult& b :
            measureReadBandwidths(options.threads, options.probeBytes, options.measuredBandwidth))
            bandwidth[b.threads] = b;
        for (const auto& [t, b] : bandwidth)
            bw.push_back({ { "threads", t }, { "median_gbps", b.medianGBps }, { "max_gbps", b.maxGBps },
                { "buffer_mib", b.bufferBytes >> 20 }, { "huge_pages", b.hugePages } });
        report["bandwidth"] = bw;
    }
    std::map<int, double> peakGflops;
    if (options.probeCompute) {
        peakGflops = measurePeakGflopsFor(options.threads, options.measuredPeakGflops);
        nlohmann::json peaks = nlohmann::json::array();
        for (const auto& [t, g] : peakGflops)
            peaks.push_back({ { "threads", t }, { "gflops", g }, { "kernel", fmaKernelName() } });
        report["peak_flops"] = peaks;
    }
    const double flopsPerPrefill = prefillFlops(*model, options.promptTokens);
    report["model"]["prefill_flops"] = flopsPerPrefill;
    // Where decode reads the weights from: a file's mapping, or memory of the process's own (a copy, or a
    // synthetic model), which is what the bandwidth probe reads.
    report["model"]["weights_in"]
        = model->file() && !model->file()->inAnonymousMemory() ? "file mapping" : "anonymous memory";

    // The weights a decoded token reads, as spans for the read measurement below.
    std::vector<ReadSpan> weightSpans;
    for (const WeightMatrix* w : model->decodeMatrices())
        weightSpans.push_back({ w->data, w->bytes() });
    nlohmann::json weightsRead = nlohmann::json::array();

    nlohmann::json results = nlohmann::json::array();
    std::map<int, double> prefillTps, decodeTps;
    for (int threads : options.threads) {
        const int probeThreads = std::min(threads, Scheduler::hardwareThreads());
        // The model's own weights read by the probe's loads, in decode's order and each matrix split over the threads
        // as decode splits it, just before this thread count's runs: what reading these bytes costs here, apart from
        // the arithmetic. Against the probe's buffer it shows how far the weights' own placement (pages, many
        // matrices) is from the probe; decode against it, how far the kernels are from a plain read.
        std::optional<BandwidthResult> ownRead;
        if (options.probeBandwidth) {
            ownRead = measureSpansRead(probeThreads, weightSpans);
            weightsRead.push_back({ { "threads", probeThreads }, { "median_gbps", ownRead->medianGBps },
                { "max_gbps", ownRead->maxGBps }, { "bytes", ownRead->bufferBytes } });
        }
        SchedulerOptions schedulerOptions { threads, options.partitioner, options.grain };
        schedulerOptions.pinThreads = options.pinThreads;
        Scheduler scheduler(schedulerOptions);
        InferenceContext context(model, ctx);
        auto argmax
            = [](std::span<const float> l) { return int32_t(std::max_element(l.begin(), l.end()) - l.begin()); };
        std::vector<double> prefill, decode;
        std::vector<double> traced, untraced;
        uint64_t dropped = 0;
        std::vector<double> sampled, explained;
        // Measured from inside the arena, as executeRun runs: no arena entry per parallel region.
        scheduler.execute([&] {
            for (int run = 0; run < options.repeat + 1; ++run) {
                context.reset();
                const auto t0 = Clock::now();
                auto logits = context.eval(scheduler, prompt);
                const double prefillS = secondsSince(t0);
                int32_t next = argmax(logits);
                const auto t1 = Clock::now();
                for (int i = 0; i < options.decodeTokens; ++i)
                    next = argmax(context.eval(scheduler, std::span<const int32_t>(&next, 1)));
                const double decodeS = secondsSince(t1);
                if (run == 0)
                    continue; // warm-up: page in the weights, size the buffers, spin up the workers
                prefill.push_back(options.promptTokens / prefillS);
                decode.push_back(options.decodeTokens / decodeS);
            }
            // The same decode with every chunk traced, alternating with untraced runs so drift hits both.
            for (int run = 0; run < options.repeat; ++run)
                for (bool trace : { true, false }) {
                    TraceRecorder recorder(threads + 1);
                    recorder.start(Clock::now());
                    scheduler.setTraceRecorder(trace ? &recorder : nullptr);
                    context.reset();
                    int32_t next = argmax(context.eval(scheduler, std::span<const int32_t>(prompt.data(), 1)));
                    const auto t0 = Clock::now();
                    for (int i = 0; i < options.decodeTokens; ++i)
                        next = argmax(context.eval(scheduler, std::span<const int32_t>(&next, 1)));
                    (trace ? traced : untraced).push_back(options.decodeTokens / secondsSince(t0));
                    scheduler.setTraceRecorder(nullptr);
                    dropped += recorder.dropped();
                }
            // Decode through the real sampler (default settings), with and without keeping the best
            // options.alternatives candidates per token, alternating as above.
            if (options.alternatives > 0)
                for (int run = 0; run < options.repeat; ++run)
                    for (bool explain : { true, false }) {
                        Sampler sampler { SamplingParams {} };
                        TokenAlternatives alternatives;
                        std::vector<int32_t> history(prompt.begin(), prompt.begin() + 1);
                        auto pick = [&](std::span<const float> logits) {
                            const int32_t id = explain
                                ? sampler.sample(logits, history, options.alternatives, alternatives)
                                : sampler.sample(logits, history);
                            history.push_back(id);
                            return id;
                        };
                        context.reset();
                        int32_t next = pick(context.eval(scheduler, std::span<const int32_t>(prompt.data(), 1)));
                        const auto t0 = Clock::now();
                        for (int i = 0; i < options.decodeTokens; ++i)
                            next = pick(context.eval(scheduler, std::span<const int32_t>(&next, 1)));
                        (explain ? explained : sampled).push_back(options.decodeTokens / secondsSince(t0));
                    }
        });
        nlohmann::json r;
        r["threads"] = threads;
        r["oversubscribed"] = scheduler.oversubscribed();
        r["prefill_tps_median"] = median(prefill);
        r["prefill_tps_min"] = *std::min_element(prefill.begin(), prefill.end());
        r["prefill_tps_max"] = *std::max_element(prefill.begin(), prefill.end());
        r["decode_tps_median"] = median(decode);
        r["decode_tps_min"] = *std::min_element(decode.begin(), decode.end());
        r["decode_tps_max"] = *std::max_element(decode.begin(), decode.end());
        r["decode_tps_traced_median"] = median(traced);
        r["decode_tps_untraced_median"] = median(untraced);
        r["dropped_trace_events"] = dropped; // nonzero: the traced runs lost events, their figures are incomplete
        // Share of decode speed lost to tracing: the median over adjacent (traced, untraced) pairs, so
        // that drift in the machine's speed during the bench cancels within each pair.
        std::vector<double> lost;
        for (size_t i = 0; i < traced.size() && i < untraced.size(); ++i)
            lost.push_back(1.0 - traced[i] / untraced[i]);
        r["tracing_overhead"] = median(lost);
        if (!sampled.empty()) {
            // Keeping alternatives, as the ratio of decode speeds over adjacent (with, without) pairs.
            std::vector<double> ratio;
            for (size_t i = 0; i < sampled.size() && i < explained.size(); ++i)
                ratio.push_back(explained[i] / sampled[i]);
            r["decode_tps_sampled_median"] = median(sampled);
            r["decode_tps_alternatives_median"] = median(explained);
            r["alternatives_speed_ratio"] = median(ratio);
        }
        prefillTps[threads] = median(prefill);
        decodeTps[threads] = median(decode);
        if (bandwidth.count(probeThreads)) {
            // The best pass: a ceiling is what the memory can deliver, so the ratio errs on the hard side.
            const double ceiling = bandwidth[probeThreads].maxGBps * 1e9 / double(model->weightBytesPerToken());
            r["decode_ceiling_tps"] = ceiling;
            r["decode_ceiling_ratio"] = median(decode) / ceiling;
        }
        if (ownRead) { // the best pass, as for the ceiling
            const double readTps = ownRead->maxGBps * 1e9 / double(model->weightBytesPerToken());
            r["decode_weights_read_tps"] = readTps;
            r["decode_weights_read_ratio"] = median(decode) / readTps;
        }
        if (peakGflops.count(probeThreads)) {
            // Prefill's FLOPs (from the shapes) per second over the FMA peak: how near the compute ceiling it runs.
            const double achieved = flopsPerPrefill * median(prefill) / options.promptTokens / 1e9;
            r["prefill_gflops"] = achieved;
            r["prefill_ceiling_tps"] = peakGflops[probeThreads] * 1e9 * options.promptTokens / flopsPerPrefill;
            r["prefill_ceiling_ratio"] = achieved / peakGflops[probeThreads];
        }
        results.push_back(r);
    }
    report["results"] = results;
    if (options.probeBandwidth)
        report["weights_read"] = weightsRead;
    if (prefillTps.count(1)) {
        nlohmann::json speedups = nlohmann::json::object();
        for (const auto& [t, tps] : prefillTps)
            if (t != 1)
                speedups[std::to_string(t)]
                    = { { "prefill_speedup", tps / prefillTps[1] }, { "decode_speedup", decodeTps[t] / decodeTps[1] } };
        report["speedup_vs_1_thread"] = speedups;
        if (prefillTps.count(2)) {
            report["prefill_speedup"] = prefillTps[2] / prefillTps[1];
            report["decode_speedup"] = decodeTps[2] / decodeTps[1];
        }
    }
    return report;
}

} // namespace engine
