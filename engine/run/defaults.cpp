#include "engine/run/defaults.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace engine {

std::string defaultModelPath(const std::string& executablePath)
{
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("PLAYGROUND_MODEL"); env && *env)
        return env;
    std::vector<fs::path> candidates;
    if (!executablePath.empty()) {
        std::error_code ec;
        const fs::path exe = fs::weakly_canonical(fs::path(executablePath), ec);
        candidates.push_back(exe.parent_path() / ".." / "resources" / "models" / kDefaultModelFile);
        candidates.push_back(exe.parent_path() / ".." / ".." / "resources" / "models" / kDefaultModelFile);
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
