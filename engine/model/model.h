// A llama-family model: hyper-parameters from GGUF metadata and weights read in place from the mapping.
#pragma once

#include "engine/format/ggmltype.h"
#include "engine/text/tokenizer.h"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace engine {

class GgufFile;
struct MemoryBudget;

enum class RopeScaling { None, Linear, Yarn };

struct ModelConfig {
    std::string architecture = "llama";
    std::string name;
    int dim = 0; // embedding length
    int layers = 0;
    int heads = 0;
    int kvHeads = 0; // grouped-query attention: heads share kvHeads K/V heads
    int headDim = 0; // attention.key_length, else dim / heads (Qwen3: heads * headDim != dim)
    int hidden = 0; // feed-forward length
    int vocab = 0;
    int contextLength = 0; // what the model was trained for
    float ropeBase = 10000.0f;
    float rmsEps = 1e-5f;
    bool ropeInterleaved = true; // GGUF arch=llama: pairs (2j, 2j+1); qwen2/qwen3 (NeoX): pairs (j, j + ropeDims/2)

    // RoPE as llama.cpp computes it (ggml_rope_ext). Only the first ropeDims of each head rotate;
    // pair i turns by pos * ropeBase^(-2i/ropeDims) / ropeFreqFactors[i], then YaRN/linear scaling.
    int ropeDims = 0; // rope.dimension_count (n_rot), even, <= headDim
    RopeScaling ropeScaling = RopeScaling::None;
    float ropeScaleFactor = 1.0f; // rope.scaling.factor (or the older rope.scale_linear); 1 when none
    int ropeOriginalContext = 0; // rope.scaling.original_context_length (n_ctx_orig), else contextLength
    float yarnExtFactor = 0.0f; // ramp weight of extrapolation: 1 for YaRN, 0 otherwise (unless in the file)
    float yarnBetaFast = 32.0f;
    float yarnBetaSlow = 1.0f;
    float ropeAttnFactor = 1.0f; // ggml's attn_factor: cos and sin are multiplied by it (and by YaRN's mscale)
    std::vector<float> ropeFreqFactors; // rope_freqs.weight (Llama 3.1+), ropeDims/2 divisors; empty when absent
    bool qkNorm = false; // qwen3: RMS norm of each head of q and k before RoPE

    int kvDim() const { return kvHeads * headDim; }
    int qDim() const { return heads * headDim; }
    // ggml's freq_scale: 1/factor for linear and YaRN, 1 otherwise.
    float ropeFreqScale() const { return ropeScaling == RopeScaling::None ? 1.0f : 1.0f / ropeScaleFactor; }
};

const char* ropeScalingName(RopeScaling s);

// The RoPE table of positions [0, positions): for position p and pair i < ropeDims/2, cos and sin at
// [p * ropeDims/2 + i], with every scaling and the magnitude factor folded in, as ggml's rope cache.
void computeRopeTable(const ModelConfig& c, int positions, std::vector<float>& cosTable, std::vector<float>& sinTable);

// A weight matrix of `rows` output rows, each `cols` stored elements of `type`, row-major.
// GGUF dims [cols, rows]. The bytes live in the file mapping (or in a synthetic model's buffer).
struct WeightMatrix {
    GgmlType type = GgmlType::F32;
    int64_t rows = 0;
    int64_t cols = 0;
    uint64_t rowBytes = 0;
    const uint8_t* data = nullptr;
    // F32 matrices of small models: the same rows packed once for prefill's float kernel (CpuKernels::
    // packWeightPanels, owned by the Model), or null (prefill then packs each block of rows as it multiplies it).
    const float* panels = nullptr;
    // Q4_0 matrices on levels with the kernel: the same rows repacked for decode's integer dot (q4groups.h; the same
    // bytes per row, so row r starts at decodeRows + r * rowBytes), owned by the Model; null otherwise (decode then
    // reads the stored rows). Prefill always reads the stored rows.
    const uint8_t* decodeRows = nullptr;

    const uint8_t* row(int64_t r) const { return data + uint64_t(r) * rowBytes; }
    uint64_t bytes() const { return rowBytes * uint64_t(rows); }
};

struct LayerWeights {
    std::vector<float> attnNorm; // (dim)
    WeightMatrix wq; // (heads*headDim, dim)
    WeightMatrix wk; // (kvHeads*headDim, dim)
    WeightMatrix wv; // (kvHeads*headDim, dim)
    std::vector<float> qBias; // (heads*headDim) or empty: qwen2 has Q/K/V biases, llama none
    std::vector<float> kBias; // (kvHeads*headDim) or empty
    std::vector<float> vBias; // (kvHeads*headDim) or empty
    std::vector<float> qNorm; // (headDim) or empty: qwen3 normalises each head of q and k
    std::vector<float> kNorm; // (headDim) or empty
    WeightMatrix wo; // (dim, heads*headDim)
    std::vector<float> ffnNorm; // (dim)
    WeightMatrix gate; // (hidden, dim)
    WeightMatrix up; // (hidden, dim)
    WeightMatrix down; // (dim, hidden)

    std::array<const WeightMatrix*, 7> matrices() const { return { &wq, &wk, &wv, &wo, &gate, &up, &down }; }
    std::array<WeightMatrix*, 7> matrices() { return { &wq, &wk, &wv, &wo, &gate, &up, &down }; }
};

class Model {
public:
    // Loads a GGUF file. Throws ModelFileError naming the file and the problem (unknown
    // architecture, missing tensor, wrong shape, unsupported type, bad hyper-parameters, or more memory
    // needed than MemoryBudget allows: the file itself is checked before it is mapped, the file with the
    // KV cache and working buffers once the header is read and before any weight page is read in).
    static std::shared_ptr<const Model> load(const std::string& path);
    // Bytes a model needs besides its weights: the KV cache of a default context (min(trained,
    // kDefaultContextCap)), activations of a full prompt chunk, the F32 copies of norms and biases, and the packed
    // panels of a small model's layer matrices (packPrefillPanels; counted as F32 from the shapes, up to 64 MiB).
    static uint64_t workingBytes(const ModelConfig& config);
    // Builds from an already-parsed file (kept alive by the model).
    static std::shared_ptr<const Model> fromGguf(std::shared_ptr<const GgufFile> file);
    // Builds from GGUF bytes in memory (synthetic models); the model keeps the buffer alive.
    static std::shared_ptr<const Model> fromGgufBuffer(
        std::shared_ptr<const std::vector<uint8_t>> bytes, const std::string& name);

    const ModelConfig& config() const { return m_config; }
    const Tokenizer& tokenizer() const { return *m_tokenizer; }
    const WeightMatrix& tokenEmbedding() const { return m_tokenEmbd; } // (vocab, dim)
    const std::vector<LayerWeights>& layers() const { return m_layers; }
    const std::vector<float>& outputNorm() const { return m_outputNorm; }
    const WeightMatrix& output() const { return m_output; } // (vocab, dim); the embedding when tied
    bool tiedEmbeddings() const { return m_tied; }
    const std::string& source() const { return m_source; } // file path or "synthetic:<shape>"
    const GgufFile* file() const { return m_file.get(); } // null for synthetic models

    uint64_t parameterCount() const;
    // Weight bytes read per decoded token: every matrix once (decodeMatrices) plus one embedding row.
    uint64_t weightBytesPerToken() const;
    // The matrices a decoded token reads, in the order it reads them: each layer's (LayerWeights::matrices), then
    // the output matrix.
    std::vector<const WeightMatrix*> decodeMatrices() const;
    uint64_t weightBytes() const;
    std::string typeSummary() const; // e.g. "F32" or "F16 (norms F32)"

    // Throws ModelFileError if the mapped file shrank or was rewritten since it was loaded (GgufFile::
    // changedSinceOpened); results computed since are not to be trusted. The forward pass asks after every step.
    void requireFileUnchanged() const;
    // The tensors holding NaN or Inf (after dequantisation), each as "name (row r)" for its first bad row. Reads
    // every weight once: meant for when a result was found non-finite, not for every load.
    std::vector<std::string> nonFiniteTensors() const;

private:
    Model() = default;
    // fromGguf, and with a budget (measured before the file was mapped) the memory check and populating the pages.
    static std::shared_ptr<const Model> fromGgufChecked(
        std::shared_ptr<const GgufFile> file, const MemoryBudget* budget);
    // Packs the layers' F32 matrices for prefill (WeightMatrix::panels) when the level has the kernel and the
    // copies stay within kMaxPanelBytes.
    void packPrefillPanels();
    // Repacks the Q4_0 matrices decode reads (WeightMatrix::decodeRows) when the level has the kernel, within
    // kMaxDecodeGroupBytes and half the memory still available; PLAYGROUND_Q4_GROUPS=0 keeps the stored layout only.
    void packDecodeGroups();

    ModelConfig m_config;
    std::unique_ptr<Tokenizer> m_tokenizer;
    WeightMatrix m_tokenEmbd;
    std::vector<LayerWeights> m_layers;
    std::vector<float> m_outputNorm;
    WeightMatrix m_output;
    bool m_tied = false;
    std::string m_source;
    std::shared_ptr<const GgufFile> m_file;
    std::shared_ptr<const std::vector<uint8_t>> m_buffer; // synthetic models: the GGUF bytes
    std::unique_ptr<float, void (*)(void*)> m_panels { nullptr, std::free }; // every WeightMatrix::panels
    std::unique_ptr<uint8_t, void (*)(void*)> m_decodeGroups { nullptr, std::free }; // every WeightMatrix::decodeRows
};

} // namespace engine
