// The memory wall: decode reads every weight once per token, so its speed is bounded by how fast the weights
// stream from memory. The same synthetic shape stored as F32, Q8_0 and Q4_0 (same seed: the same weights, fewer
// bytes each) shows tokens per second rising as bytes per token fall, and the roofline points moving right.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

#include <algorithm>
#include <iterator>

namespace engine::lessons {

namespace {

// The largest shape that decodes a few tokens within the time budget; its F32 weights (512 MiB) exceed most
// last-level caches, and the text says so when this machine's does not. Quick runs (tests) take a small shape:
// building the large one three times takes longer than the rest of the lessons together.
constexpr const char* kShape = "110M";
constexpr const char* kQuickShape = "15M";

struct Variant {
    const char* key; // measurement suffix
    GgmlType type;
};
constexpr Variant kVariants[] = {
    { "f32", GgmlType::F32 },
    { "q8", GgmlType::Q8_0 },
    { "q4", GgmlType::Q4_0 },
};

constexpr double kMiB = 1024.0 * 1024.0;

// Achieved FLOPs per byte and GFLOP/s of a phase's modelled ops together: the run's point on the roofline.
std::pair<double, double> rooflinePoint(const RunReport& r, Phase phase)
{
    double bytes = 0, flops = 0;
    int64_t ns = 0;
    for (const OpStats& s : r.ops)
        if (s.phase == phase && s.modelled) {
            bytes += s.bytes;
            flops += s.flops;
            ns += s.elapsedNs;
        }
    return { bytes > 0 ? flops / bytes : 0.0, ns > 0 ? flops / double(ns) : 0.0 };
}

class MemoryWall : public Lesson {
public:
    std::string name() const override { return "memory-wall"; }
    std::string title() const override { return "Memory wall"; }
    std::string summary() const override
    {
        return "F32 vs Q8_0 vs Q4_0 of one model: fewer bytes per token, faster decode, the roofline points moving";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const int cores = planCores(options);
        std::vector<Step> steps;
        for (const Variant& v : kVariants) {
            const std::string shape = options.quick ? kQuickShape : kShape;
            steps.push_back(runStep("decode of synthetic " + shape + " as " + ggmlTypeName(v.type), { shape, v.type },
                lessonRun({ shortPrompts().front() }, options.quick ? 3 : 16, cores)));
        }
        return steps;
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks& machine) const override
    {
        Measured m;
        const int threads = stepAt(results, 0).threads;
        m.add("threads", threads, "", 0);
        m.add("machine_gbps", machine.bandwidthGBps(threads), "GB/s", 1);
        m.add("llc_mib", double(machine.lastLevelCacheBytes) / kMiB, "MiB", 0);
        double background = 0;
        for (size_t i = 0; i < std::size(kVariants); ++i) {
            const std::string key = kVariants[i].key;
            const StepResult& r = stepAt(results, i);
            const RunReport& report = reportAt(results, i);
            m.add("weights_" + key, double(r.modelWeightBytes) / kMiB, "MiB", 0);
            m.add("bytes_per_token_" + key,
                report.decodeTokens > 0 ? phaseBytes(report, Phase::Decode) / report.decodeTokens / kMiB : 0.0, "MiB",
                0);
            m.add("decode_tps_" + key, r.metrics.decodeTokensPerSecond, "tok/s", 1);
            m.add("gbps_" + key, phaseGBps(report, Phase::Decode), "GB/s", 1);
            const auto [intensity, gflops] = rooflinePoint(report, Phase::Decode);
            m.add("intensity_" + key, intensity, "FLOP/B", 2);
            m.add("gflops_" + key, gflops, "GFLOP/s", 1);
            background = std::max(background, r.backgroundLoad.otherCores);
        }
        const double f32 = m.value("decode_tps_f32");
        m.add("q4_vs_f32", f32 > 0 ? m.value("decode_tps_q4") / f32 : 0.0, "×", 2);
        m.add("background_cores", background, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        e.contradicts = m.value("q4_vs_f32") < 1.2;
        std::string t = fillText(m,
            "The synthetic model's weights take {weights_f32} as F32, {weights_q8} as Q8_0 and {weights_q4} as Q4_0, "
            "and "
            "decode reads about {bytes_per_token_f32}, {bytes_per_token_q8} and {bytes_per_token_q4} per token. It "
            "decoded {decode_tps_f32}, {decode_tps_q8} and {decode_tps_q4} on {threads} threads: Q4_0 "
            "{q4_vs_f32} as fast as F32. ");
        const double f32Share = m.value("gbps_f32") / std::max(1e-9, m.value("machine_gbps"));
        if (f32Share >= 0.5)
            t += fillText(m,
                "At F32 the weights streamed at {gbps_f32}, close to the {machine_gbps} this machine's memory "
                "delivers: each weight is used for one multiply-add per token, so the cores wait for memory, and "
                "fewer bytes per token means more tokens per second. ");
        else
            t += fillText(m,
                     "At F32 the weights streamed at {gbps_f32}, well below the {machine_gbps} this machine's memory "
                     "delivers, so here decode was held back by more than memory (busy cores, or the arithmetic)")
                + (m.value("background_cores") >= kBusyCores
                        ? fillText(m, "; other processes kept up to {background_cores} cores busy meanwhile. ")
                        : ". ");
        const double llc = m.value("llc_mib");
        const bool q4PastMemory = m.value("gbps_q4") > m.value("machine_gbps");
        if (llc > 0 && m.value("weights_f32") > llc)
            t += fillText(m,
                     "The F32 weights do not fit this CPU's {llc_mib} last-level cache, so every token streams them "
                     "from memory; the quantised copies fit in it")
                + (q4PastMemory ? fillText(m, ", which lets Q4_0 go past the memory bandwidth ({gbps_q4}). ")
                                : fillText(m,
                                    ", yet Q4_0 moved only {gbps_q4}, below the memory bandwidth: "
                                    "unpacking its blocks costs arithmetic. "));
        else if (llc > 0)
            t += fillText(m,
                "All three fit this CPU's {llc_mib} last-level cache, so they are read from the cache rather than "
                "memory and the gaps between them are smaller than on a machine whose cache they exceed. ");
        t += fillText(m,
            "On the roofline the decode point moves right as each byte carries more work ({intensity_f32} to "
            "{intensity_q4}) ");
        t += m.value("gflops_q4") > m.value("gflops_f32") ? fillText(m, "and up ({gflops_f32} to {gflops_q4}). ")
                                                          : fillText(m, "but not up ({gflops_f32} to {gflops_q4}). ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += "the quantised model was not clearly faster here";
            t += m.value("background_cores") >= kBusyCores
                ? fillText(m, "; other processes kept up to {background_cores} cores busy while it ran.")
                : "; unpacking the quantised blocks costs arithmetic, and when the weights are already in the cache "
                  "that cost can outweigh the bytes saved.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::Roofline, Focus::Stats };
        e.lookAtText = "On the roofline, the three runs' decode matmuls sit under the bandwidth slope and move right "
                       "and up from F32 to Q4_0; the stats table gives each one's tokens per second.";
        return e;
    }
};

} // namespace

const Lesson& memoryWallLesson()
{
    static const MemoryWall lesson;
    return lesson;
}

} // namespace engine::lessons
