// Fuzz target: the Chrome trace reader (engine::parseChromeTrace) and what reads its events: lanesWellFormed and
// busyWorkerSteps. Input: one flags byte (with or without markers), then JSON text; text that is not JSON is
// skipped (nlohmann's parser is not ours to fuzz). Fine: std::runtime_error, the reader's documented refusal.
// Anything else is a finding.
#include "engine/measure/traceexport.h"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    const bool withMarkers = (data[0] & 1) != 0;
    const nlohmann::json json = nlohmann::json::parse(data + 1, data + size, nullptr, false);
    if (json.is_discarded())
        return 0;
    std::vector<engine::TraceEvent> events;
    try {
        events = engine::parseChromeTrace(json, withMarkers);
    } catch (const std::runtime_error&) {
        return 0;
    }
    std::string why;
    (void)engine::lanesWellFormed(events, &why);
    (void)engine::busyWorkerSteps(events);
    return 0;
}
