#include "engine/format/ggufwriter.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace engine {

namespace {

constexpr uint64_t kDefaultAlignment = 32;

class ByteSink {
public:
    explicit ByteSink(std::vector<uint8_t>& out)
        : m_out(out)
    {
    }

    template <typename T> void put(T v)
    {
        const size_t at = m_out.size();
        m_out.resize(at + sizeof(T));
        std::memcpy(m_out.data() + at, &v, sizeof(T)); // the host is little-endian, as GGUF (asserted in gguffile.cpp)
    }

    void putString(const std::string& s)
    {
        put<uint64_t>(s.size());
        m_out.insert(m_out.end(), s.begin(), s.end());
    }

    void putBytes(const std::vector<uint8_t>& bytes) { m_out.insert(m_out.end(), bytes.begin(), bytes.end()); }

    void padTo(uint64_t alignment) { m_out.resize((m_out.size() + alignment - 1) / alignment * alignment, 0); }

    // The value's payload; the caller has written its type tag (or the array's element type) already.
    void putValue(const GgufValue& v)
    {
        switch (v.type()) {
        case GgufValueType::UInt8:
            return put<uint8_t>(uint8_t(v.asUInt()));
        case GgufValueType::UInt16:
            return put<uint16_t>(uint16_t(v.asUInt()));
        case GgufValueType::UInt32:
            return put<uint32_t>(uint32_t(v.asUInt()));
        case GgufValueType::UInt64:
            return put<uint64_t>(v.asUInt());
        case GgufValueType::Int8:
            return put<int8_t>(int8_t(v.asInt()));
        case GgufValueType::Int16:
            return put<int16_t>(int16_t(v.asInt()));
        case GgufValueType::Int32:
            return put<int32_t>(int32_t(v.asInt()));
        case GgufValueType::Int64:
            return put<int64_t>(v.asInt());
        case GgufValueType::Float32:
            return put<float>(float(v.asFloat()));
        case GgufValueType::Float64:
            return put<double>(v.asFloat());
        case GgufValueType::Bool:
            return put<uint8_t>(v.asBool() ? 1 : 0);
        case GgufValueType::String:
            return putString(v.asString());
        case GgufValueType::Array:
            put<uint32_t>(uint32_t(v.elementType()));
            put<uint64_t>(v.arraySize());
            for (size_t i = 0; i < v.arraySize(); ++i)
                putValue(v.arrayElement(i));
            return;
        }
    }

private:
    std::vector<uint8_t>& m_out;
};

uint64_t alignUp(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

[[noreturn]] void throwIoError(const std::string& path, const char* what, int err)
{
    throw std::runtime_error(path + ": " + what + ": " + std::strerror(err));
}

[[noreturn]] void failWrite(const std::string& path, const std::string& tmpPath, int fd, const char* what)
{
    const int err = errno;
    ::close(fd);
    ::unlink(tmpPath.c_str());
    throwIoError(path, what, err);
}

} // namespace

void GgufWriter::set(const std::string& key, GgufValue value)
{
    if (key == "general.alignment") {
        // One source of truth: the alignment the data is laid out with is the one written.
        if (value.type() != GgufValueType::UInt32)
            throw std::invalid_argument("GgufWriter: general.alignment must be a uint32");
        setAlignment(value.asUInt());
        return;
    }
    auto it = std::find_if(m_metadata.begin(), m_metadata.end(), [&](const auto& kv) { return kv.first == key; });
    if (it != m_metadata.end())
        it->second = std::move(value);
    else
        m_metadata.emplace_back(key, std::move(value));
}

void GgufWriter::setString(const std::string& key, std::string v) { set(key, GgufValue::fromString(std::move(v))); }

void GgufWriter::setUInt32(const std::string& key, uint32_t v)
{
    set(key, GgufValue::fromUInt(GgufValueType::UInt32, v));
}

void GgufWriter::setInt32(const std::string& key, int32_t v) { set(key, GgufValue::fromInt(GgufValueType::Int32, v)); }

void GgufWriter::setFloat32(const std::string& key, float v)
{
    set(key, GgufValue::fromFloat(GgufValueType::Float32, v));
}

void GgufWriter::setBool(const std::string& key, bool v) { set(key, GgufValue::fromBool(v)); }

void GgufWriter::setStringArray(const std::string& key, const std::vector<std::string>& v)
{
    std::vector<GgufValue> elements;
    elements.reserve(v.size());
    for (const std::string& s : v)
        elements.push_back(GgufValue::fromString(s));
    set(key, GgufValue::fromArray(GgufValueType::String, std::move(elements)));
}

void GgufWriter::setFloat32Array(const std::string& key, const std::vector<float>& v)
{
    std::vector<GgufValue> elements;
    elements.reserve(v.size());
    for (float f : v)
        elements.push_back(GgufValue::fromFloat(GgufValueType::Float32, f));
    set(key, GgufValue::fromArray(GgufValueType::Float32, std::move(elements)));
}

void GgufWriter::setInt32Array(const std::string& key, const std::vector<int32_t>& v)
{
    std::vector<GgufValue> elements;
    elements.reserve(v.size());
    for (int32_t i : v)
        elements.push_back(GgufValue::fromInt(GgufValueType::Int32, i));
    set(key, GgufValue::fromArray(GgufValueType::Int32, std::move(elements)));
}

void GgufWriter::addTensor(
    const std::string& name, GgmlType type, std::vector<uint64_t> dims, std::vector<uint8_t> bytes)
{
    const std::string where = "GgufWriter::addTensor '" + name + "': ";
    for (const Tensor& t : m_tensors)
        if (t.name == name)
            throw std::invalid_argument(where + "duplicate tensor name");
    const std::optional<GgmlTypeTraits> traits = ggmlTypeTraits(uint32_t(type));
    if (!traits)
        throw std::invalid_argument(where + "unknown tensor type " + std::to_string(uint32_t(type)));
    if (dims.empty() || dims.size() > 4)
        throw std::invalid_argument(where + "needs 1 to 4 dimensions, got " + std::to_string(dims.size()));
    uint64_t rows = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == 0)
            throw std::invalid_argument(where + "dimension " + std::to_string(i) + " is 0");
        if (i > 0)
            rows *= dims[i];
    }
    if (dims[0] % traits->blockSize != 0)
        throw std::invalid_argument(where + "row length " + std::to_string(dims[0]) + " is not a multiple of the "
            + traits->name + " block size " + std::to_string(traits->blockSize));
    const uint64_t expected = ggmlRowBytes(type, dims[0]) * rows;
    if (bytes.size() != expected)
        throw std::invalid_argument(
            where + "has " + std::to_string(bytes.size()) + " bytes, its shape needs " + std::to_string(expected));
    m_tensors.push_back(Tensor { name, type, std::move(dims), std::move(bytes) });
}

void GgufWriter::addTensorF32(const std::string& name, std::vector<uint64_t> dims, std::span<const float> values)
{
    std::vector<uint8_t> bytes(values.size_bytes());
    if (!bytes.empty())
        std::memcpy(bytes.data(), values.data(), bytes.size());
    addTensor(name, GgmlType::F32, std::move(dims), std::move(bytes));
}

std::vector<uint8_t> GgufWriter::toBytes() const
{
    if (m_alignment == 0 || !std::has_single_bit(m_alignment) || m_alignment > UINT32_MAX)
        throw std::invalid_argument(
            "GgufWriter: alignment " + std::to_string(m_alignment) + " is not a power of two that fits in uint32");
    const bool writeAlignment = m_alignment != kDefaultAlignment;

    std::vector<uint8_t> out;
    ByteSink sink(out);
    sink.put<uint32_t>(0x46554747u); // "GGUF"
    sink.put<uint32_t>(3);
    sink.put<uint64_t>(m_tensors.size());
    sink.put<uint64_t>(m_metadata.size() + (writeAlignment ? 1 : 0));

    // general.alignment goes first so a reader knows it before any tensor offsets.
    if (writeAlignment) {
        sink.putString("general.alignment");
        sink.put<uint32_t>(uint32_t(GgufValueType::UInt32));
        sink.put<uint32_t>(uint32_t(m_alignment));
    }
    for (const auto& [key, value] : m_metadata) {
        sink.putString(key);
        sink.put<uint32_t>(uint32_t(value.type()));
        sink.putValue(value);
    }

    uint64_t offset = 0; // within the data section
    for (const Tensor& t : m_tensors) {
        sink.putString(t.name);
        sink.put<uint32_t>(uint32_t(t.dims.size()));
        for (uint64_t d : t.dims)
            sink.put<uint64_t>(d);
        sink.put<uint32_t>(uint32_t(t.type));
        sink.put<uint64_t>(offset);
        offset += alignUp(t.bytes.size(), m_alignment);
    }

    sink.padTo(m_alignment);
    for (const Tensor& t : m_tensors) {
        sink.putBytes(t.bytes);
        sink.padTo(m_alignment);
    }
    return out;
}

void GgufWriter::write(const std::string& path) const
{
    const std::vector<uint8_t> bytes = toBytes();

    // Write beside the target and rename over it, so a failed write never leaves a truncated model behind.
    std::string tmpPath = path + ".tmp.XXXXXX";
    const int fd = ::mkostemp(tmpPath.data(), O_CLOEXEC);
    if (fd < 0)
        throwIoError(path, "cannot create temporary file", errno);
    if (::fchmod(fd, 0644) != 0) // mkstemp creates 0600; a model file is meant to be shared
        failWrite(path, tmpPath, fd, "cannot set permissions");
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            failWrite(path, tmpPath, fd, "cannot write");
        }
        done += size_t(n);
    }
    if (::fsync(fd) != 0)
        failWrite(path, tmpPath, fd, "cannot flush");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmpPath.c_str());
        throwIoError(path, "cannot close", err);
    }
    if (::rename(tmpPath.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmpPath.c_str());
        throwIoError(path, "cannot rename temporary file into place", err);
    }
}

} // namespace engine
