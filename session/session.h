// Everything a window session showed, without Qt: the model, the settings, every run and sweep with its results.
// SessionFile writes and reads it (docs/sessions.md); the window, the CLI and the HTML report share it.
#pragma once

#include "engine/measure/analysisreport.h"
#include "engine/measure/machine.h"
#include "engine/measure/sweep.h"
#include "engine/run/run.h"
#include "session/modelref.h"

#include <optional>
#include <string>
#include <vector>

namespace session {

// One piece of generated text as the window received it: which sequence, the token, the trace position whose
// logits gave it, and its text (possibly empty, or several tokens' bytes completing a character).
struct TokenRecord {
    int sequence = 0;
    int32_t id = -1; // -1: trailing bytes flushed at the end
    int position = -1;
    std::string text;
};

struct RunRecord {
    std::string startedAt; // ISO 8601 UTC, for the reader and the history
    engine::RunRequest settings;
    std::vector<engine::GenerationResult> sequences;
    std::vector<TokenRecord> tokens; // in the order they arrived
    engine::RunMetrics metrics;
    bool cancelled = false;
    int threads = 1;
    engine::Strategy strategy = engine::Strategy::IntraOp;
    std::vector<int> pinnedCpus;
    engine::BackgroundLoad backgroundLoad;
    std::vector<engine::TraceEvent> trace; // empty when the run was not traced
    std::optional<engine::RunReport> report; // the analysis, when it finished
};

struct SweepRecord {
    std::string startedAt;
    // The measurements; the *Scaling fields (speedup, efficiency, fits) are derived from them with
    // engine::analyzeSweep when a session is read, so they are the same as when the sweep finished.
    engine::SweepResult result;
};

struct Session {
    ModelRef model;
    engine::RunRequest settings; // the controls when the session was saved
    nlohmann::json machine; // engine::machineDescription() of the machine the runs ran on (null: unknown)
    std::vector<RunRecord> runs; // oldest first
    std::vector<SweepRecord> sweeps;
    // Format 1 files hold the outputs as text only (one entry per pane: text, figures) and no run.
    std::vector<std::pair<std::string, std::string>> legacyOutputs;
    int formatVersion = 0; // of the file it was read from
};

} // namespace session
