// One request per thread: several prompts at once. Request-parallel runs each prompt whole on one thread, so the
// threads never synchronise and throughput grows with them; but each prompt still runs on a single thread, so its
// own speed (time per token) does not improve. Intra-op on the same prompts is the comparison: it splits each
// token's work, so each prompt gets faster, but pays for synchronisation on every region.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

#include <algorithm>

namespace engine::lessons {

namespace {

// Mean over the sequences of each one's own decode time per token, ms.
double meanMsPerToken(const StepResult& r)
{
    double sum = 0;
    int n = 0;
    for (const GenerationResult& s : r.sequences)
        if (s.stats.generatedTokens > 1) {
            sum += s.stats.decodeMs / (s.stats.generatedTokens - 1);
            ++n;
        }
    return n > 0 ? sum / n : 0.0;
}

class OneRequestPerThread : public Lesson {
public:
    std::string name() const override { return "one-request-per-thread"; }
    std::string title() const override { return "One request per thread"; }
    std::string summary() const override
    {
        return "several prompts request-parallel vs intra-op: throughput scales, each prompt's own speed does not";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        const int tokens = options.quick ? 8 : 96;
        const std::vector<std::string>& prompts = shortPrompts();
        return {
            // Request-parallel on one thread runs the prompts one after another, each whole as one task with its
            // regions inline: the same execution as each prompt gets at two threads, so "alone" differs from it only
            // in the second thread. (Intra-op on one thread pays a region's machinery on every op, which a tiny
            // model's per-token time felt: the prompts then looked faster request-parallel than alone.)
            runStep("the prompts one after another on 1 thread", {}, lessonRun(prompts, tokens, 1, Strategy::Request)),
            runStep(
                "intra-op on 2 threads: each token's work split", {}, lessonRun(prompts, tokens, 2, Strategy::IntraOp)),
            runStep("request-parallel on 2 threads: one prompt per thread", {},
                lessonRun(prompts, tokens, 2, Strategy::Request)),
        };
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks&) const override
    {
        const StepResult& serial = stepAt(results, 0);
        const StepResult& intra = stepAt(results, 1);
        const StepResult& request = stepAt(results, 2);
        Measured m;
        m.add("prompts", double(serial.sequences.size()), "", 0);
        m.add("threads_one", serial.threads, "", 0);
        m.add("threads_two", request.threads, "", 0);
        m.add("tps_1", serial.metrics.totalTokensPerSecond, "tok/s", 0);
        m.add("tps_intra_2", intra.metrics.totalTokensPerSecond, "tok/s", 0);
        m.add("tps_request_2", request.metrics.totalTokensPerSecond, "tok/s", 0);
        const double tps1 = serial.metrics.totalTokensPerSecond;
        m.add("throughput_intra", tps1 > 0 ? intra.metrics.totalTokensPerSecond / tps1 : 0.0, "×", 2);
        m.add("throughput_request", tps1 > 0 ? request.metrics.totalTokensPerSecond / tps1 : 0.0, "×", 2);
        m.add("ms_per_token_1", meanMsPerToken(serial), "ms", 2);
        m.add("ms_per_token_intra_2", meanMsPerToken(intra), "ms", 2);
        m.add("ms_per_token_request_2", meanMsPerToken(request), "ms", 2);
        const double own1 = meanMsPerToken(serial);
        const double ownRequest = meanMsPerToken(request);
        const double ownIntra = meanMsPerToken(intra);
        m.add("own_speedup_request", ownRequest > 0 ? own1 / ownRequest : 0.0, "×", 2);
        m.add("own_speedup_intra", ownIntra > 0 ? own1 / ownIntra : 0.0, "×", 2);
        m.add("background_cores",
            std::max({ serial.backgroundLoad.otherCores, intra.backgroundLoad.otherCores,
                request.backgroundLoad.otherCores }),
            "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        const double throughput = m.value("throughput_request");
        const double own = m.value("own_speedup_request");
        e.contradicts = !(throughput >= 1.4 && own < 1.2);
        std::string t = fillText(m,
            "With {prompts} prompts, request-parallel on {threads_two} threads produced {tps_request_2} against "
            "{tps_1} on {threads_one} thread: {throughput_request} the throughput. Yet each prompt's own decode "
            "took {ms_per_token_request_2} per token against {ms_per_token_1} alone ({own_speedup_request}): every "
            "prompt still runs on one thread, and the threads only work on different prompts at the same time. ");
        t += fillText(m,
            "Intra-op on the same prompts splits each token's work instead: {ms_per_token_intra_2} per token "
            "({own_speedup_intra} for each prompt) and {throughput_intra} the throughput, paying for a fork and a "
            "join on every region. ");
        if (e.contradicts) {
            t += kContradictionOpening;
            t += throughput < 1.4 ? "request-parallel throughput did not grow much with the second thread"
                                  : "each prompt also got faster under request-parallel";
            t += m.value("background_cores") >= kBusyCores ? fillText(m,
                     ", and other processes kept up to {background_cores} cores busy meanwhile, which "
                     "disturbs timings.")
                                                           : ".";
        } else {
            t += "Serving many users is the easy parallelism: more throughput, not less latency.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::Timeline, Focus::Stats };
        e.lookAtText = "In the request-parallel timeline each lane holds whole prompts end to end with no gaps "
                       "between chunks; the stats table gives each prompt's own tokens per second.";
        return e;
    }
};

} // namespace

const Lesson& oneRequestPerThreadLesson()
{
    static const OneRequestPerThread lesson;
    return lesson;
}

} // namespace engine::lessons
