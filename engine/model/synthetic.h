// Synthetic llama models: random weights from a fixed seed in named shapes, for scaling demonstrations without a file.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/model/model.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace engine {

struct SyntheticShape {
    std::string name;
    int dim, layers, heads, kvHeads, hidden, vocab, contextLength;
    GgmlType type; // matrices; norms are always F32
    bool tied = false; // no output.weight: logits use the token embedding
    std::string description;
    std::string architecture = "llama"; // or "qwen2": Q/K/V biases and rotate-half (NeoX) RoPE
};

// The named shapes: tiny, 15M, 110M, 1B.
const std::vector<SyntheticShape>& syntheticShapes();
// Throws std::invalid_argument listing the known names if `name` is not one.
const SyntheticShape& syntheticShape(const std::string& name);

// The GGUF bytes of a synthetic model (metadata, synthetic vocabulary, random weights).
std::vector<uint8_t> syntheticModelGguf(const SyntheticShape& shape, uint64_t seed = 1234);

// Builds the model in memory (through the same GGUF loader as files). Throws std::runtime_error
// if the machine does not have the memory for it.
std::shared_ptr<const Model> makeSyntheticModel(const SyntheticShape& shape, uint64_t seed = 1234);
std::shared_ptr<const Model> makeSyntheticModel(const std::string& shapeName, uint64_t seed = 1234);

// Bytes of memory currently available (MemAvailable), or 0 if unknown.
uint64_t availableMemoryBytes();

} // namespace engine
