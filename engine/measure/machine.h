// The machine a measurement ran on: its description, and the memory read bandwidth that bounds decode.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace engine {

// A short description of this machine: CPU model, logical cores, memory.
nlohmann::json machineDescription();

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

// The probes a measurement at each of `threads` needs (each count capped at the machine's logical
// cores), taken most threads first and skipping counts `measured` already holds. Returns `measured`
// followed by the new probes.
std::vector<BandwidthResult> measureReadBandwidths(
    const std::vector<int>& threads, uint64_t bufferBytes, std::vector<BandwidthResult> measured = {});

} // namespace engine
