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
    // Matrices: F32, F16, BF16, or a block type quantizeRow writes (the F32 values of the same seed, quantised).
    // Norms are always F32.
    GgmlType type;
    bool tied = false; // no output.weight: logits use the token embedding
    std::string description;
    std::string architecture = "llama"; // "qwen2": Q/K/V biases, NeoX RoPE; "qwen3": q/k norms, NeoX RoPE
    // The model families' variants (tests/engine/test_families.cpp); the defaults write what the named
    // shapes always had.
    int headDim = 0; // 0: dim / heads; else written as attention.key_length and value_length
    int ropeDims = 0; // 0: the head dimension; else rope.dimension_count (partial rotary)
    float ropeBase = 0.0f; // 0: 10000 for llama, 1e6 for qwen2 and qwen3
    std::string ropeScaling {}; // empty: no scaling keys; else rope.scaling.type ("linear", "yarn", ...)
    float ropeScaleFactor = 0.0f; // 0: not written; else rope.scaling.factor
    int ropeOriginalContext = 0; // with ropeScaling: rope.scaling.original_context_length unless 0
    // rope_freqs.weight as convert_hf_to_gguf.py writes it for Llama 3.1 (factor 8, low_freq_factor 1,
    // high_freq_factor 4, original context ropeOriginalContext or else 8192).
    bool llama3RopeFreqs = false;
    std::string chatTemplate {}; // empty: none; else written as tokenizer.chat_template (Jinja or a family name)
};

// The named shapes: tiny, 15M, 110M, 1B.
const std::vector<SyntheticShape>& syntheticShapes();
// Throws std::invalid_argument listing the known names if `name` is not one.
const SyntheticShape& syntheticShape(const std::string& name);

// The GGUF bytes of a synthetic model (metadata, synthetic vocabulary, random weights).
std::vector<uint8_t> syntheticModelGguf(const SyntheticShape& shape, uint64_t seed = 1234);

// Writes syntheticModelGguf(shape, seed) to `path`; throws std::runtime_error naming it on failure.
void writeSyntheticModel(const SyntheticShape& shape, const std::string& path, uint64_t seed = 1234);

// The Llama 3.1 frequency factors convert_hf_to_gguf.py computes (LlamaModel.generate_extra_tensors):
// one divisor per RoPE pair, 1 for short wavelengths, `factor` for long ones, smooth in between.
std::vector<float> llama3RopeFreqFactors(
    int ropeDims, double base, double factor, double lowFreqFactor, double highFreqFactor, double originalContext);

// Throws ModelFileError naming "synthetic:<name>", with the numbers (MemoryBudget), if building the shape needs
// more memory than this process may use: before any of it is built.
void requireMemoryForSynthetic(const SyntheticShape& shape);

// Builds the model in memory (through the same GGUF loader as files). Throws ModelFileError ("synthetic:<name>")
// if the machine does not have the memory for it.
std::shared_ptr<const Model> makeSyntheticModel(const SyntheticShape& shape, uint64_t seed = 1234);
std::shared_ptr<const Model> makeSyntheticModel(const std::string& shapeName, uint64_t seed = 1234);

// Bytes of memory currently available (MemAvailable), or 0 if unknown.
uint64_t availableMemoryBytes();

} // namespace engine
