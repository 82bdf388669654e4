// GGUF v3 writer: builds a model file in memory (metadata, tensor table, aligned data) and saves it.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/format/gguffile.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace engine {

// Writes GGUF v3 files: metadata in insertion order, then the tensor table, then aligned data.
class GgufWriter {
public:
    void setAlignment(uint64_t alignment) { m_alignment = alignment; } // also written as general.alignment if != 32
    void set(const std::string& key, GgufValue value); // replaces an existing key
    void setString(const std::string& key, std::string v);
    void setUInt32(const std::string& key, uint32_t v);
    void setInt32(const std::string& key, int32_t v);
    void setFloat32(const std::string& key, float v);
    void setBool(const std::string& key, bool v);
    void setStringArray(const std::string& key, const std::vector<std::string>& v);
    void setFloat32Array(const std::string& key, const std::vector<float>& v);
    void setInt32Array(const std::string& key, const std::vector<int32_t>& v);

    // `bytes` must be exactly ggmlRowBytes(type, dims[0]) * (product of the other dims).
    void addTensor(const std::string& name, GgmlType type, std::vector<uint64_t> dims, std::vector<uint8_t> bytes);
    void addTensorF32(const std::string& name, std::vector<uint64_t> dims, std::span<const float> values);

    std::vector<uint8_t> toBytes() const;
    void write(const std::string& path) const; // throws std::runtime_error naming the path on I/O failure

private:
    struct Tensor {
        std::string name;
        GgmlType type;
        std::vector<uint64_t> dims;
        std::vector<uint8_t> bytes;
    };
    uint64_t m_alignment = 32;
    std::vector<std::pair<std::string, GgufValue>> m_metadata;
    std::vector<Tensor> m_tensors;
};

} // namespace engine
