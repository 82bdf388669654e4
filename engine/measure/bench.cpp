#include "engine/measure/bench.h"

#include "engine/model/inferencecontext.h"
#include "engine/parallel/trace.h"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <sys/mman.h>
#include <thread>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace engine {

namespace {
using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sums a range with eight independent vector accumulators so loads, not adds, are the limit.
float readRange(const float* p, size_t n)
{
    size_t i = 0;
#if defined(__AVX512F__)
    __m512 a[8];
    for (auto& v : a)
        v = _mm512_setzero_ps();
    for (; i + 128 <= n; i += 128)
        for (int k = 0; k < 8; ++k)
            a[k] = _mm512_add_ps(a[k], _mm512_load_ps(p + i + 16 * k));
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])),
        _mm512_add_ps(_mm512_add_ps(a[4], a[5]), _mm512_add_ps(a[6], a[7])));
    float sum = _mm512_reduce_add_ps(s);
#elif defined(__AVX2__)
    __m256 a[8];
    for (auto& v : a)
        v = _mm256_setzero_ps();
    for (; i + 64 <= n; i += 64)
        for (int k = 0; k < 8; ++k)
            a[k] = _mm256_add_ps(a[k], _mm256_load_ps(p + i + 8 * k));
    float tmp[8];
    __m256 s = a[0];
    for (int k = 1; k < 8; ++k)
        s = _mm256_add_ps(s, a[k]);
    _mm256_storeu_ps(tmp, s);
    float sum = 0;
    for (float t : tmp)
        sum += t;
#else
    float sum = 0.0f;
#endif
    for (; i < n; ++i)
        sum += p[i];
    return sum;
}

struct AlignedBuffer {
    void* data = nullptr;
    size_t size = 0;
    bool huge = false;
    explicit AlignedBuffer(size_t bytes)
        : size(bytes)
    {
        data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (data == MAP_FAILED)
            throw std::runtime_error("bandwidth probe: cannot allocate " + std::to_string(bytes >> 20) + " MiB");
        huge = madvise(data, bytes, MADV_HUGEPAGE) == 0;
    }
    ~AlignedBuffer() { munmap(data, size); }
};
} // namespace

double median(std::vector<double> values)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

BandwidthResult measureReadBandwidth(int threads, uint64_t bufferBytes, int passes)
{
    BandwidthResult r;
    r.threads = threads;
    r.bufferBytes = bufferBytes;
    // One buffer for every probe of a process: a second 1 GiB mapping right after freeing the first
    // often gets fewer huge pages, which made later probes read slower than earlier ones.
    static std::unique_ptr<AlignedBuffer> cached;
    if (!cached || cached->size != bufferBytes) {
        cached.reset();
        cached = std::make_unique<AlignedBuffer>(bufferBytes);
    }
    AlignedBuffer& buffer = *cached;
    r.hugePages = buffer.huge;
    float* data = static_cast<float*>(buffer.data);
    const size_t n = bufferBytes / sizeof(float);
    // Plain threads released together by a barrier, not TBB tasks, so that every thread is reading
    // during the whole timed interval.
    const size_t parts = size_t(threads);
    auto partRange = [&](size_t k) {
        const size_t per = (n / parts) & ~size_t(127);
        return std::pair<size_t, size_t>(k * per, k + 1 == parts ? n : (k + 1) * per);
    };
    std::vector<double> rates;
    std::vector<float> sums(parts);
    std::barrier start(std::ptrdiff_t(parts + 1));
    std::barrier finish(std::ptrdiff_t(parts + 1));
    const int totalPasses = passes + 1; // the first pass warms the TLB and the threads
    std::vector<std::thread> workers;
    for (size_t k = 0; k < parts; ++k)
        workers.emplace_back([&, k] {
            auto [b, e] = partRange(k);
            for (size_t i = b; i < e; ++i) // first touch from the thread that reads it
                data[i] = float(i & 7);
            for (int pass = 0; pass < totalPasses; ++pass) {
                start.arrive_and_wait();
                sums[k] += readRange(data + b, e - b);
                finish.arrive_and_wait();
            }
        });
    volatile float sink = 0.0f;
    for (int pass = 0; pass < totalPasses; ++pass) {
        const auto t0 = Clock::now(); // before the release: a conservative (longer) time
        start.arrive_and_wait();
        finish.arrive_and_wait();
        const double s = secondsSince(t0);
        if (pass > 0)
            rates.push_back(double(bufferBytes) / s / 1e9);
    }
    for (auto& w : workers)
        w.join();
    for (float v : sums)
        sink = sink + v;
    r.medianGBps = median(rates);
    r.maxGBps = *std::max_element(rates.begin(), rates.end());
    return r;
}

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
}

nlohmann::json machineDescription()
{
    nlohmann::json m;
    std::ifstream cpu("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpu, line))
        if (line.rfind("model name", 0) == 0) {
            m["cpu"] = line.substr(line.find(':') + 2);
            break;
        }
    m["logical_cores"] = Scheduler::hardwareThreads();
    std::ifstream mem("/proc/meminfo");
    std::string key, unit;
    uint64_t value = 0;
    while (mem >> key >> value >> unit)
        if (key == "MemTotal:") {
            m["memory_gib"] = double(value) / (1024.0 * 1024.0);
            break;
        }
    return m;
}

nlohmann::json runBench(std::shared_ptr<const Model> model, const BenchOptions& options)
{
    options.validate();
    const ModelConfig& c = model->config();
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
        { "grain", options.grain }, { "pin_threads", options.pinThreads } };

    std::map<int, BandwidthResult> bandwidth;
    if (options.probeBandwidth) {
        nlohmann::json bw = nlohmann::json::array();
        for (const BandwidthResult& b : options.measuredBandwidth)
            bandwidth[b.threads] = b;
        std::vector<int> probes = options.threads; // most threads first, as the CLI does
        std::sort(probes.rbegin(), probes.rend());
        for (int t : probes) {
            const int probeThreads = std::min(t, Scheduler::hardwareThreads());
            if (!bandwidth.count(probeThreads))
                bandwidth[probeThreads] = measureReadBandwidth(probeThreads, options.probeBytes);
        }
        for (const auto& [t, b] : bandwidth)
            bw.push_back({ { "threads", t }, { "median_gbps", b.medianGBps }, { "max_gbps", b.maxGBps },
                { "buffer_mib", b.bufferBytes >> 20 }, { "huge_pages", b.hugePages } });
        report["bandwidth"] = bw;
    }

    nlohmann::json results = nlohmann::json::array();
    std::map<int, double> prefillTps, decodeTps;
    for (int threads : options.threads) {
        SchedulerOptions schedulerOptions { threads, options.partitioner, options.grain };
        schedulerOptions.pinThreads = options.pinThreads;
        Scheduler scheduler(schedulerOptions);
        InferenceContext context(model, ctx);
        auto argmax
            = [](std::span<const float> l) { return int32_t(std::max_element(l.begin(), l.end()) - l.begin()); };
        std::vector<double> prefill, decode;
        std::vector<double> traced, untraced;
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
        // Share of decode speed lost to tracing: the median over adjacent (traced, untraced) pairs, so
        // that drift in the machine's speed during the bench cancels within each pair.
        std::vector<double> lost;
        for (size_t i = 0; i < traced.size() && i < untraced.size(); ++i)
            lost.push_back(1.0 - traced[i] / untraced[i]);
        r["tracing_overhead"] = median(lost);
        prefillTps[threads] = median(prefill);
        decodeTps[threads] = median(decode);
        const int probeThreads = std::min(threads, Scheduler::hardwareThreads());
        if (bandwidth.count(probeThreads)) {
            // The best pass: a ceiling is what the memory can deliver, so the ratio errs on the hard side.
            const double ceiling = bandwidth[probeThreads].maxGBps * 1e9 / double(model->weightBytesPerToken());
            r["decode_ceiling_tps"] = ceiling;
            r["decode_ceiling_ratio"] = median(decode) / ceiling;
        }
        results.push_back(r);
    }
    report["results"] = results;
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
