// A run's trace in a session file: every TraceEvent, in order, as zlib-compressed columns of varints.
#pragma once

#include "engine/parallel/trace.h"

#include <cstdint>
#include <string>
#include <vector>

namespace session {

// The encoding (docs/sessions.md, "trace"): the events' fields as ten columns, one after the other, each a
// run of LEB128 varints (signed values zigzagged): worker, op, tokens, layer, sequence, begin (delta from the
// previous event of the same worker), duration, first (delta from the previous event of the same worker),
// last − first, position (delta from the previous event of the same worker); then the whole compressed by
// zlib. Columns and per-worker deltas keep a 1M-event trace to a few bytes per event.
class TraceCodec {
public:
    static constexpr uint64_t kMaxEvents = 16'000'000; // a session refuses to claim more (512 MiB of events)
    static std::string encode(const std::vector<engine::TraceEvent>& events);
    // Exactly `count` events, or throws std::runtime_error ("truncated", "corrupt", "too many events"):
    // memory is bounded by `count`, which is checked against kMaxEvents before anything is allocated.
    static std::vector<engine::TraceEvent> decode(const std::string& compressed, uint64_t count);
};

} // namespace session
