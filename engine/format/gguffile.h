// GGUF model files (versions 2 and 3): the value types and a memory-mapped, fully bounds-checked reader.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/format/mappedfile.h"

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace engine {

// The value types of GGUF metadata, numbered as in the GGUF specification.
enum class GgufValueType : uint32_t {
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
};

const char* ggufValueTypeName(GgufValueType type);

// Thrown for any malformed or unusable model file. what() reads
// "<file>: at byte <offset>: <problem>" so a user can tell exactly what is wrong.
class ModelFileError : public std::runtime_error {
public:
    ModelFileError(const std::string& file, uint64_t offset, const std::string& problem);
    ModelFileError(const std::string& file, const std::string& problem); // no particular offset
    const std::string& file() const { return m_file; }
    uint64_t offset() const { return m_offset; }
    const std::string& problem() const { return m_problem; }

private:
    std::string m_file;
    uint64_t m_offset = 0;
    std::string m_problem;
};

// One metadata value. Scalars are kept widened; arrays hold their elements compactly, as the file stores them
// (numbers and bools as their raw little-endian bytes, strings as one buffer plus end offsets, nested arrays as
// values), so an array costs about what it occupies in the file (tests/engine/test_gguf.cpp measures it).
class GgufValue {
public:
    GgufValue() = default;
    static GgufValue fromUInt(GgufValueType type, uint64_t v);
    static GgufValue fromInt(GgufValueType type, int64_t v);
    static GgufValue fromFloat(GgufValueType type, double v);
    static GgufValue fromBool(bool v);
    static GgufValue fromString(std::string v);
    static GgufValue fromArray(GgufValueType elementType, const std::vector<GgufValue>& elements);

    GgufValueType type() const { return m_type; }
    GgufValueType elementType() const { return m_elementType; } // only for arrays
    bool isInteger() const; // any of the integer types (not bool)
    bool isNumber() const; // integer or float

    // Typed accessors; throw std::logic_error if the value is not of a compatible kind.
    uint64_t asUInt() const; // integer types; negative values throw
    int64_t asInt() const; // integer types
    double asFloat() const; // any number
    bool asBool() const;
    const std::string& asString() const;
    // Arrays: the element count, one element (decoded on demand), and a string element without a copy.
    size_t arraySize() const;
    GgufValue arrayElement(size_t i) const;
    std::string_view arrayString(size_t i) const; // arrays of strings only

    std::string toString(size_t maxArrayItems = 8) const; // for `inspect`

    // Bytes this value holds in memory beyond sizeof(GgufValue) (the reader's metadata budget counts them).
    uint64_t heapBytes() const;

private:
    friend class GgufArrayBuilder;
    struct Array {
        size_t count = 0;
        std::vector<uint8_t> raw; // numbers and bools: count × the element's size, little-endian
        std::string chars; // strings: all of them, back to back
        std::vector<uint64_t> ends; // strings: where each one ends in `chars`
        std::vector<GgufValue> values; // nested arrays
    };

    GgufValueType m_type = GgufValueType::UInt8;
    GgufValueType m_elementType = GgufValueType::UInt8;
    uint64_t m_u = 0;
    int64_t m_i = 0;
    double m_f = 0.0;
    std::string m_s;
    std::shared_ptr<const Array> m_array; // immutable once built, so copies share it
};

struct GgufTensorInfo {
    std::string name;
    std::vector<uint64_t> dims; // GGUF order: dims[0] is the contiguous (row) dimension
    GgmlType type = GgmlType::F32;
    uint64_t offset = 0; // relative to the start of the tensor data section
    uint64_t fileOffset = 0; // absolute offset in the file
    uint64_t nbytes = 0;
    const uint8_t* data = nullptr; // points into the mapping

    uint64_t elementCount() const;
};

class GgufFile {
public:
    // Maps and validates the file; throws ModelFileError naming the byte offset of any problem. Only the header is
    // read (the mapping is not populated), so any file can be inspected; Model::load checks the memory first.
    static GgufFile open(const std::string& path);
    // Parses a buffer the caller keeps alive (used by tests and fuzzing); `name` is used in messages.
    static GgufFile fromMemory(std::span<const uint8_t> bytes, const std::string& name);

    const std::string& path() const { return m_path; }
    uint32_t version() const { return m_version; }
    uint64_t alignment() const { return m_alignment; }
    uint64_t fileSize() const { return m_bytes.size(); }
    uint64_t dataOffset() const { return m_dataOffset; }
    // True if the mapped file shrank or was rewritten since it was opened (MappedFile::changedSinceMapped); always
    // false for memory the caller owns.
    bool changedSinceOpened() const { return m_mapping && m_mapping->changedSinceMapped(); }
    // Reads the whole mapped file in (MappedFile::populate); the reader itself touches only the header.
    void populate() const
    {
        if (m_mapping)
            m_mapping->populate();
    }
    // Moves the mapped bytes into anonymous memory at the same addresses (MappedFile::copyIntoAnonymousMemory);
    // false for memory the caller owns or when the memory cannot be had.
    bool copyIntoAnonymousMemory() const { return m_mapping && m_mapping->copyIntoAnonymousMemory(); }
    bool inAnonymousMemory() const { return !m_mapping || m_mapping->inAnonymousMemory(); }

    // Metadata, in file order.
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return m_metadata; }
    const GgufValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Convenience getters. The required forms throw ModelFileError ("missing key ..." /
    // "key ... has type X, expected Y"); the optional forms return the fallback if absent.
    std::string getString(std::string_view key) const;
    std::string getString(std::string_view key, const std::string& fallback) const;
    uint64_t getUInt(std::string_view key) const;
    uint64_t getUInt(std::string_view key, uint64_t fallback) const;
    double getFloat(std::string_view key) const;
    double getFloat(std::string_view key, double fallback) const;
    bool getBool(std::string_view key, bool fallback) const;
    std::vector<std::string> getStringArray(std::string_view key) const;
    std::vector<float> getFloatArray(std::string_view key) const;
    std::vector<int32_t> getIntArray(std::string_view key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return m_tensors; }
    const GgufTensorInfo* findTensor(std::string_view name) const;

private:
    GgufFile() = default;
    void parse();

    std::string m_path;
    std::shared_ptr<MappedFile> m_mapping; // null when parsing caller-owned memory
    std::span<const uint8_t> m_bytes;
    uint32_t m_version = 0;
    uint64_t m_alignment = 32;
    uint64_t m_dataOffset = 0;
    std::vector<std::pair<std::string, GgufValue>> m_metadata;
    std::map<std::string, size_t, std::less<>> m_metadataIndex;
    std::vector<GgufTensorInfo> m_tensors;
    std::map<std::string, size_t, std::less<>> m_tensorIndex;
};

} // namespace engine
