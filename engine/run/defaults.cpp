#include "engine/run/defaults.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace engine {

namespace {

// The running program's own file. A path given as a bare name ("llm-playground-cli", found
// through $PATH) or one that no longer exists says nothing about where the program lives, so
// then ask the kernel (/proc/self/exe on Linux). Empty if neither works.
std::filesystem::path executableFile(const std::string& executablePath)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path given(executablePath);
    if (given.has_parent_path() && fs::is_regular_file(given, ec))
        return fs::weakly_canonical(given, ec);
#if defined(__linux__)
    if (fs::path self = fs::read_symlink("/proc/self/exe", ec); !ec)
        return self;
#endif
    return {};
}

} // namespace

std::string defaultModelPath(const std::string& executablePath)
{
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("PLAYGROUND_MODEL"); env && *env)
        return env;
    std::vector<fs::path> candidates;
    if (!executablePath.empty()) {
        if (const fs::path exe = executableFile(executablePath); !exe.empty()) {
            const fs::path dir = exe.parent_path();
            candidates.push_back(dir / ".." / "share" / kInstallDataDir / "models" / kDefaultModelFile);
            candidates.push_back(dir / ".." / "resources" / "models" / kDefaultModelFile);
            candidates.push_back(dir / ".." / ".." / "resources" / "models" / kDefaultModelFile);
        }
    }
    candidates.push_back(fs::path(PLAYGROUND_RESOURCE_DIR) / "models" / kDefaultModelFile);
    for (const auto& p : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(p, ec))
            return fs::weakly_canonical(p, ec).string();
    }
    return {};
}

} // namespace engine
