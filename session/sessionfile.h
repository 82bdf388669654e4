// The session file format (docs/sessions.md): versioned JSON, the trace compressed inside it.
#pragma once

#include "session/session.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace session {

// A file that is not a session, is damaged, too new, or beyond the limits. The message is for the user.
struct SessionError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class SessionFile {
public:
    static constexpr int kVersion = 2; // "format": "llm-playground-session", "version": 2
    static constexpr uint64_t kMaxFileBytes = 256ull << 20; // bigger files are refused before they are read
    static constexpr int kMaxDepth = 64; // nesting of JSON arrays and objects
    static constexpr size_t kMaxRuns = 10'000;
    static constexpr size_t kMaxSweeps = 10'000;

    // Throw SessionError. Writing goes to `path`.tmp first, then renames: a crash never leaves half a file.
    static void write(const std::string& path, const Session& session);
    static Session read(const std::string& path);

    static nlohmann::json toJson(const Session& session);
    static Session fromJson(const nlohmann::json& json);
    // Parses and reads the bytes of a file (the limits apply).
    static Session parse(const std::string& bytes);

    // The pieces, for the CLI and tests.
    static nlohmann::json runToJson(const RunRecord& run);
    static nlohmann::json sweepToJson(const SweepRecord& sweep);
    static std::string nowUtc(); // ISO 8601, seconds
};

} // namespace session
