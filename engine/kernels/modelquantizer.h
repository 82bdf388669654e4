// Quantising models: ggml's reference row quantisers and a GGUF-to-GGUF converter like llama-quantize.
// Usage: engine::quantizeModel("model-f32.gguf", "model-q4_k.gguf", engine::GgmlType::Q4_K) returns what it did.
#pragma once

#include "engine/format/ggmltype.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace engine {

// Quantises n floats (a multiple of the type's block size) into ggmlRowBytes(type, n) bytes, exactly as
// ggml's quantize_row_*_ref does (no importance matrix), so files written here are the ones
// llama-quantize would write. Types: Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, and F32/F16/BF16 (plain
// conversion). Throws std::invalid_argument for other types or a length that is not a whole number of blocks.
void quantizeRow(GgmlType type, const float* x, uint8_t* out, size_t n);

// Types quantizeModel accepts as a target: Q8_0, Q4_0, Q5_0, Q4_K (as Q4_K_M), Q5_K (as Q5_K_M), Q6_K,
// and the plain F16, BF16 and F32 (every matrix converted, 1-D tensors kept, as llama-quantize does).
bool isQuantizeTarget(GgmlType type);
// A target by llama-quantize's name: Q8_0, Q4_0, Q5_0, Q4_K_M, Q5_K_M, Q6_K, F16, BF16, F32 (any case);
// Q4_K and Q5_K are accepted for Q4_K_M and Q5_K_M. nullopt for anything else.
std::optional<GgmlType> quantizeTargetFromName(const std::string& name);
// llama-quantize's name for a target: "Q4_K_M" for Q4_K, "Q5_K_M" for Q5_K, else the type's name.
std::string quantizeTargetName(GgmlType target);
// llama.cpp's LLAMA_FTYPE number written to general.file_type for a target: F32 0, F16 1, Q4_0 2,
// Q8_0 7, Q5_0 8, Q4_K (Q4_K_M) 15, Q5_K (Q5_K_M) 17, Q6_K 18, BF16 32. Throws std::invalid_argument
// for a non-target.
uint32_t llamaFileType(GgmlType target);

struct QuantizedTensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType from = GgmlType::F32;
    GgmlType to = GgmlType::F32;
    uint64_t bytesBefore = 0;
    uint64_t bytesAfter = 0;
    std::string note; // why the type differs from the target (TensorTypeChoice::note)

    bool converted() const { return from != to; }
};

struct QuantizeReport {
    std::string inPath;
    std::string outPath;
    GgmlType target = GgmlType::Q8_0;
    uint32_t fileType = 0; // general.file_type written
    std::vector<QuantizedTensor> tensors; // in file order
    uint64_t tensorBytesBefore = 0;
    uint64_t tensorBytesAfter = 0;
    uint64_t fileBytesBefore = 0;
    uint64_t fileBytesAfter = 0;
    double seconds = 0.0;

    int convertedCount() const;
    int keptCount() const;
    // How many tensors have each type after quantisation, by ggml type number.
    std::vector<std::pair<GgmlType, int>> countByType() const;
};

// Reads the GGUF at inPath and writes outPath (atomically) with the same metadata in the same order
// (general.file_type updated, general.quantization_version = 2 added as llama.cpp does) and the same
// tensors in the same order, each in the type planQuantization (quantplan.h) chooses as llama-quantize
// does for the target: Q4_K is Q4_K_M and Q5_K is Q5_K_M, with their Q6_K output and attn_v / ffn_down
// layers; output.weight (or token_embd.weight when tied) Q6_K; 1-D tensors kept; row lengths that are
// not whole blocks falling back.
// Sources may be F32, F16, BF16 or any type the engine can dequantise. Throws ModelFileError (path in
// the message) for an unreadable input, std::runtime_error naming outPath if it cannot be written, and
// std::invalid_argument for a target that isQuantizeTarget() rejects.
QuantizeReport quantizeModel(const std::string& inPath, const std::string& outPath, GgmlType target);

// What quantizeModel would do, without converting or writing anything: the same report with outPath
// empty, fileBytesAfter 0 and seconds 0 (tensorBytesAfter is what the tensors will take). Throws as
// quantizeModel does for an unreadable input or a bad target.
QuantizeReport planModelQuantization(const std::string& inPath, GgmlType target);

} // namespace engine
