#include "session/modelref.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

namespace session {

namespace {

constexpr uint64_t kEdge = 1 << 20;

struct Fnv {
    uint64_t h = 1469598103934665603ull;
    void add(const unsigned char* p, size_t n)
    {
        for (size_t i = 0; i < n; ++i) {
            h ^= p[i];
            h *= 1099511628211ull;
        }
    }
};

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

} // namespace

std::string ModelRef::hashFile(const std::string& path, uint64_t* sizeOut)
{
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (!f || ec)
        throw std::runtime_error("cannot read " + path);
    Fnv fnv;
    std::vector<unsigned char> buffer(kEdge);
    auto readAt = [&](uint64_t offset, uint64_t n) {
        if (std::fseek(f.get(), long(offset), SEEK_SET) != 0 || std::fread(buffer.data(), 1, n, f.get()) != n)
            throw std::runtime_error("cannot read " + path);
        fnv.add(buffer.data(), n);
    };
    const uint64_t head = std::min(size, kEdge);
    readAt(0, head);
    const uint64_t tail = std::min(size - head, kEdge);
    readAt(size - tail, tail);
    unsigned char le[8];
    for (int i = 0; i < 8; ++i)
        le[i] = static_cast<unsigned char>(size >> (8 * i));
    fnv.add(le, 8);
    if (sizeOut)
        *sizeOut = size;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv.h));
    return std::string("fnv1a64-edges:") + hex;
}

ModelRef ModelRef::of(const std::string& path, const std::string& name)
{
    ModelRef ref;
    ref.path = path;
    ref.name = name;
    if (!ref.isSynthetic() && !path.empty())
        ref.hash = hashFile(path, &ref.size);
    return ref;
}

ModelRef::Match ModelRef::check() const
{
    if (isSynthetic())
        return Match::Same;
    std::error_code ec;
    if (path.empty() || !std::filesystem::is_regular_file(path, ec))
        return Match::Missing;
    try {
        uint64_t size = 0;
        const std::string h = hashFile(path, &size);
        return size == this->size && (hash.empty() || h == hash) ? Match::Same : Match::Differs;
    } catch (const std::exception&) {
        return Match::Missing;
    }
}

} // namespace session
