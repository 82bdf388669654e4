// Which model a session was made with: enough to tell whether the file on this machine is the same one.
#pragma once

#include <cstdint>
#include <string>

namespace session {

struct ModelRef {
    std::string path; // the file, or "synthetic:<shape>" (no file, always present)
    std::string name; // the model's own name (general.name), for the reader
    uint64_t size = 0; // bytes; 0 for synthetic models
    // "fnv1a64-edges:<16 hex digits>": FNV-1a 64 over the first MiB, the last MiB and the size as 8 little-endian
    // bytes. Reads 2 MiB however large the model; tells apart different files, not a forgery. "" for synthetic.
    std::string hash;

    bool isSynthetic() const { return path.rfind("synthetic:", 0) == 0; }

    // The reference of the file at `path` (size and hash read now), or of a synthetic shape. Throws
    // std::runtime_error when the file cannot be read.
    static ModelRef of(const std::string& path, const std::string& name);
    static std::string hashFile(const std::string& path, uint64_t* size = nullptr);

    enum class Match { Same, Missing, Differs };
    // Whether the file at `path` is still this model (synthetic ones always are).
    Match check() const;
};

} // namespace session
