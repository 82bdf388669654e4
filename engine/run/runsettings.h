// The one JSON form of a run's settings, shared by the window's saved settings, session files and exports.
#pragma once

#include "engine/run/run.h"

#include <nlohmann/json.hpp>

namespace engine {

// Every field of the request under a flat object: "prompts", "system", "chat", "temperature",
// "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "seed", "max_tokens", "add_bos",
// "stop_at_eos", "strategy", "threads", "partitioner", "grain", "pin_threads", "context_length",
// "trace". The names match the session files written before this codec existed, so they still open.
nlohmann::json toJson(const RunRequest& request);

// The inverse. Missing keys keep RunRequest's defaults; keys it does not know are ignored (a session
// holds more than the settings). Throws std::invalid_argument naming the key for a value of the
// wrong type or out of range. An empty prompt list is allowed (the caller decides what that means).
RunRequest runRequestFromJson(const nlohmann::json& json);

} // namespace engine
