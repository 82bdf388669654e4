// Load imbalance: how the work of a region is cut into chunks decides how evenly the threads finish. The shipped
// model's decode regions have only a handful of blocks (a few dozen rows each), so on two threads one may get more
// blocks than the other: each partitioner cuts them differently, and a coarse grain (several blocks per chunk at
// least) leaves one thread doing most of a region while the other waits.
#include "engine/lessons/explaintext.h"
#include "engine/lessons/lessonset.h"
#include "engine/lessons/lessonsupport.h"

#include <algorithm>
#include <iterator>

namespace engine::lessons {

namespace {

struct Variant {
    const char* key; // measurement suffix
    Partitioner partitioner;
    size_t grain;
};
constexpr size_t kCoarseGrain = 8;
constexpr Variant kVariants[] = {
    { "static", Partitioner::Static, 1 },
    { "auto", Partitioner::Auto, 1 },
    { "affinity", Partitioner::Affinity, 1 },
    { "coarse", Partitioner::Auto, kCoarseGrain },
};

class LoadImbalance : public Lesson {
public:
    std::string name() const override { return "load-imbalance"; }
    std::string title() const override { return "Load imbalance"; }
    std::string summary() const override
    {
        return "static, auto and affinity partitioners and a coarse grain on 2 threads: the idle time each causes";
    }

    std::vector<Step> plan(const LessonOptions& options) const override
    {
        std::vector<Step> steps;
        for (const Variant& v : kVariants) {
            RunRequest run = lessonRun({ kLongPrompt }, options.quick ? 16 : 128, 2);
            run.scheduler.partitioner = v.partitioner;
            run.scheduler.grain = v.grain;
            steps.push_back(runStep(std::string(partitionerName(v.partitioner)) + " partitioner, grain "
                    + std::to_string(v.grain) + ", on 2 threads",
                {}, run));
        }
        return steps;
    }

    Measured measure(const std::vector<StepResult>& results, const MachinePeaks&) const override
    {
        Measured m;
        m.add("threads", stepAt(results, 0).threads, "", 0);
        m.add("coarse_grain", double(kCoarseGrain), "", 0);
        double background = 0;
        for (size_t i = 0; i < std::size(kVariants); ++i) {
            const std::string key = kVariants[i].key;
            const StepResult& r = stepAt(results, i);
            const TimeBreakdown& d = reportAt(results, i).analysis.decode;
            m.add("imbalance_" + key, laneShare(d.idle.imbalance, d), "%", 0);
            m.add("decode_tps_" + key, r.metrics.decodeTokensPerSecond, "tok/s", 0);
            background = std::max(background, r.backgroundLoad.otherCores);
        }
        m.add("background_cores", background, "", 1);
        return m;
    }

    Explanation explain(const Measured& m) const override
    {
        Explanation e;
        const double fine = m.value("imbalance_auto");
        const double coarse = m.value("imbalance_coarse");
        e.contradicts = coarse < fine + 3;
        std::string t = fillText(m,
            "On {threads} threads, decode left the threads idle waiting for each other {imbalance_static} of the "
            "time with the static partitioner, {imbalance_auto} with auto and {imbalance_affinity} with affinity "
            "({decode_tps_static}, {decode_tps_auto} and {decode_tps_affinity}). ");
        t += fillText(m,
            "With a coarse grain (at least {coarse_grain} blocks per chunk) the auto partitioner could no longer "
            "split the small regions, and imbalance rose to {imbalance_coarse} ({decode_tps_coarse}). ");
        t += "These regions have only a few blocks, so whoever gets the odd block decides when the region ends. ";
        if (e.contradicts) {
            t += kContradictionOpening;
            t += "the coarse grain did not add imbalance here";
            t += m.value("background_cores") >= kBusyCores ? fillText(m,
                     "; other processes kept up to {background_cores} cores busy, and a preempted thread "
                     "makes every partitioner look unbalanced.")
                                                           : ".";
        } else {
            t += "Fine chunks balance; chunks larger than a region's share per thread cannot.";
        }
        e.text = finishText(std::move(t), m, e.contradicts);
        e.lookAt = { Focus::Timeline, Focus::WhyPanel };
        e.lookAtText = "In the coarse-grain timeline one lane carries whole regions while the other sits idle; the "
                       "Why panel's imbalance share is the measure of it.";
        return e;
    }
};

} // namespace

const Lesson& loadImbalanceLesson()
{
    static const LoadImbalance lesson;
    return lesson;
}

} // namespace engine::lessons
