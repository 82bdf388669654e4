// Scaling predicted past this machine: one traced intra-op run replayed on P lanes.
//
// The model (docs/ARCHITECTURE.md, "Run analysis", has the same text):
//   - everything outside parallel regions (serial sections, untraced time) keeps its measured duration;
//   - each parallel region (a period of the trace) with lane work W in `blocks` equal blocks, longest chunk c and
//     bytes B (from the model's shapes, roofline.h), on n = min(P, cores) cores, takes
//         max( W' / n,  ceil(blocks / n) · W' / blocks,  B / bandwidth(n) )  +  overhead · forkJoin(P) / forkJoin(p)
//     i.e. its work spread over the cores, never shorter than the busiest thread's share of whole blocks (the
//     longest chunk c when the span has no block count), never faster than the measured read bandwidth allows;
//   - W' = W · contention(n) / contention(p) for memory-bound regions (FLOPs per byte below the ridge), where
//     contention(n) = bandwidth(1) · n / bandwidth(n) is how much slower each core reads when n share the memory
//     system (the bandwidth probe's figures); W' = W otherwise;
//   - the bandwidth term applies only when the model's weights do not fit the machine's largest cache: a model that
//     fits is read from the caches, faster than the memory bandwidth the probe measures (the default model's 15 MiB
//     in a 300 MiB L3), and its regions are bounded by their work; the contention factor applies only when the
//     bandwidth term does not (both model the same sharing);
//   - the region's measured overhead (wall beyond its busiest lane's work) scales with the machine's measured
//     fork/join cost, interpolated in log2(P) between the one-thread and all-core probes; a region stretched far
//     beyond the usual (preempted: analysis.h's disturbed periods, same rule) takes the median overhead of the
//     others instead, and the count of such regions is reported (stretchedRegionsLeftOut);
//   - the chunk costs are those measured at the run's own thread count p (contention included).
// Past this machine's cores two questions have different answers, so the target says which is asked:
//   - ThisMachine: P threads time-share this machine's cores (oversubscription): work spreads over the cores only
//     and is not stretched (work stealing hands blocks to the threads that are running); the extra threads cost
//     fork/join, interpolated in log2 between the all-core probe and the probe with four threads per core, then in
//     proportion to P (in proportion to P / cores from the all-core probe when that probe is missing);
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
    // Regions stretched far beyond the usual overhead (preempted, most likely; analysis.h's disturbed periods): their
    // overhead is not extrapolated as fork/join cost, they are replayed with the median of the other regions'.
    int stretchedRegionsLeftOut = 0;
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
