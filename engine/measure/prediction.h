// Scaling predicted past this machine: one traced intra-op run replayed on P lanes.
//
// The model (docs/ARCHITECTURE.md, "Run analysis", has the same text):
//   - everything outside parallel regions (serial sections, untraced time) keeps its measured duration;
//   - each parallel region (a period of the trace) with lane work W, longest chunk c and bytes B (from the model's
//     shapes, roofline.h) takes
//         max( W / min(P, cores),  c · max(1, P / cores),  B / bandwidth(min(P, cores)) )  +  overhead(P)
//     i.e. its work spread over the cores P threads can use, never shorter than its longest chunk (stretched when
//     P threads time-share the cores), never faster than the machine's measured read bandwidth allows;
//   - overhead(P) is the region's measured overhead (wall beyond its busiest lane's work) shifted by the change
//     in the machine's measured fork/join cost: forkJoin(P) − forkJoin(p), with forkJoin interpolated in log2(P)
//     between the one-thread and all-core probes;
//   - the bandwidth term applies only when the model's weights do not fit the machine's largest cache: a model that
//     fits is read from the caches, faster than the memory bandwidth the probe measures (the default model's 15 MiB
//     in a 300 MiB L3), and its regions are bounded by their work;
//   - the chunk costs are those measured at the run's own thread count p (contention included).
// Past this machine's cores two questions have different answers, so the target says which is asked:
//   - ThisMachine: P threads time-share this machine's cores (oversubscription): work spreads over the cores only,
//     a chunk stretches by P / cores, and fork/join grows in proportion to P / cores past the all-core probe;
//   - WiderMachine: a machine with P cores like these and this machine's memory bandwidth (the memory wall does
//     not move): work spreads over P cores, and fork/join keeps growing in log2(P) as between the probes.
// Only intra-op runs are replayed: the other strategies split requests or layers, not regions.
#pragma once

#include "engine/measure/roofline.h"
#include "engine/run/run.h"

#include <string>
#include <vector>

namespace engine {

class Model;

enum class PredictionTarget { ThisMachine, WiderMachine };
const char* predictionTargetName(PredictionTarget t); // "this machine", "wider machine"

struct PredictionPoint {
    int threads = 1;
    bool beyondCores = false; // more threads than this machine's cores (time-shared, or a wider machine)
    double prefillMs = 0;
    double decodeMs = 0;
    double prefillTokensPerSecond = 0;
    double decodeTokensPerSecond = 0;
    double prefillSpeedup = 0; // against the predicted one-thread time
    double decodeSpeedup = 0;
};

struct ScalingPrediction {
    bool available = false;
    std::string reason; // why not, when unavailable
    int measuredThreads = 1;
    int cores = 1; // of the machine whose ceilings were used
    PredictionTarget target = PredictionTarget::WiderMachine;
    bool memoryCapped = true; // the weights exceed the largest cache, so regions meet the memory bandwidth
    std::vector<PredictionPoint> points;
};

// The default thread counts to predict: 1, 2, 4, ..., 64.
std::vector<int> defaultPredictionThreads();

// Replays `run` (traced, intra-op) on each of `threads` lanes with this machine's `peaks`.
ScalingPrediction predictScaling(const RunResult& run, const Model& model, const MachinePeaks& peaks,
    const std::vector<int>& threads, PredictionTarget target = PredictionTarget::WiderMachine);

// The fork/join cost the model assumes on `threads` lanes (see above), ns.
double forkJoinNs(const MachinePeaks& peaks, int threads, PredictionTarget target);

} // namespace engine
