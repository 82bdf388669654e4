// The one source of default settings shared by the CLI, the app and the tests.
#pragma once

#include <string>

namespace engine {

// The shipped model's file name under resources/models/.
inline constexpr const char* kDefaultModelFile = "playground-kjv.gguf";
// The installed data folder, <prefix>/share/<this>/ (the top CMakeLists.txt installs the models
// into its models/ folder; tests/install_check.cmake checks the two agree).
inline constexpr const char* kInstallDataDir = "llm-thread-playground";
// A synthetic shape used when no model file ships (fresh checkouts before the model exists).
inline constexpr const char* kFallbackSyntheticShape = "tiny";
inline constexpr const char* kDefaultPrompt = "In the beginning God created";
inline constexpr int kDefaultMaxTokens = 64;
// Alternatives kept per token when the window's token probabilities are on.
inline constexpr int kDefaultTopAlternatives = 10;

// The default model's path: $PLAYGROUND_MODEL if set, else the first existing of
// <dir of the executable>/../share/<kInstallDataDir>/models/<file> (installed),
// <dir of the executable>/../resources/models/<file>, <dir of the executable>/../../resources/...
// (build trees), the source tree's resources/models/<file>. The executable is executablePath
// (argv[0] or Qt's applicationFilePath()); when that is a bare name found through $PATH or does not
// exist, /proc/self/exe. Returns "" if none exists.
std::string defaultModelPath(const std::string& executablePath = {});

} // namespace engine
