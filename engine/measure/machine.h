// The machine a measurement ran on: its description, and the memory read bandwidth that bounds decode.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace engine {

// A short description of this machine: CPU model, logical cores, memory.
nlohmann::json machineDescription();

// CPU time counters from /proc, in clock ticks: the whole machine's (every CPU) and this process's (every
// thread). Two snapshots tell how much CPU other processes used in between.
struct CpuTimes {
    uint64_t machineBusy = 0; // /proc/stat "cpu": user + nice + system + irq + softirq + steal
    uint64_t machineTotal = 0; // the same plus idle and iowait
    uint64_t process = 0; // /proc/self/stat: utime + stime
    int cpus = 0; // the "cpuN" lines of /proc/stat
    bool valid = false; // both files read and parsed
};
// Parses the texts of /proc/stat and /proc/self/stat (separate so tests can feed synthetic snapshots).
CpuTimes parseCpuTimes(const std::string& procStat, const std::string& selfStat);
CpuTimes readCpuTimes(); // invalid where /proc is not readable

// Other processes' CPU use between two snapshots: the machine's busy time less this process's.
struct BackgroundLoad {
    bool measured = false; // false without two valid snapshots
    double otherCores = 0; // average number of CPUs other processes kept busy
    double otherShare = 0; // the same as a share of all CPU time, 0..1
    int cpus = 0;
    double seconds = 0; // wall time the snapshots span (from the machine's ticks)
    // From this many CPUs' worth of other work on, timings are disturbed enough to say so (a quarter of a
    // core: an idle desktop stays well below, one busy program is about 1.0).
    static constexpr double kSignificantCores = 0.25;
    bool significant() const { return measured && otherCores >= kSignificantCores; }
};
BackgroundLoad backgroundLoadBetween(const CpuTimes& before, const CpuTimes& after);
nlohmann::json toJson(const BackgroundLoad& load);

struct BandwidthResult {
    int threads = 1;
    double medianGBps = 0.0;
    double maxGBps = 0.0;
    uint64_t bufferBytes = 0;
    bool hugePages = false;
};

// Reads a buffer far larger than the caches with SIMD loads into several accumulators, split
// statically over `threads` plain threads; median and best of `passes` full reads. Every probe of
// a process reads the same buffer.
BandwidthResult measureReadBandwidth(int threads, uint64_t bufferBytes = uint64_t(1) << 30, int passes = 7);

// A run of bytes a read measurement reads (measureSpansRead).
struct ReadSpan {
    const void* data = nullptr;
    uint64_t bytes = 0;
};

// Reads `spans` one after the other with the probe's SIMD loads, each span split statically over `threads` plain
// threads (each thread its share of every span, as decode splits every matrix); median and best of `passes` full
// reads, after one warm-up pass. bufferBytes is the spans' total; only whole 64-byte lines inside each span are read.
// `prepare(part, parts)`, when given, runs on each reading thread before the first pass (the probe places its
// buffer's pages there).
BandwidthResult measureSpansRead(int threads, std::span<const ReadSpan> spans, int passes = 5,
    const std::function<void(size_t part, size_t parts)>& prepare = {});

// The probes a measurement at each of `threads` needs (each count capped at the machine's logical
// cores), taken most threads first and skipping counts `measured` already holds. Returns `measured`
// followed by the new probes.
std::vector<BandwidthResult> measureReadBandwidths(
    const std::vector<int>& threads, uint64_t bufferBytes, std::vector<BandwidthResult> measured = {});

} // namespace engine
