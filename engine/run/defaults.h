// The one source of default settings shared by the CLI, the app and the tests.
#pragma once

#include <string>

namespace engine {

// The shipped model's file name under resources/models/.
inline constexpr const char* kDefaultModelFile = "playground-kjv.gguf";
// A synthetic shape used when no model file ships (fresh checkouts before the model exists).
inline constexpr const char* kFallbackSyntheticShape = "tiny";
inline constexpr const char* kDefaultPrompt = "In the beginning God created";
inline constexpr int kDefaultMaxTokens = 64;

// The default model's path: $PLAYGROUND_MODEL if set, else the first existing of
// <dir of the executable>/../resources/models/<file>, the source tree's resources/models/<file>.
// Returns "" if none exists.
std::string defaultModelPath(const std::string& executablePath = {});

} // namespace engine
