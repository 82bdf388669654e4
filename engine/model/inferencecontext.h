// The llama forward pass over one sequence: embeddings, attention with a KV cache, SwiGLU, logits.
#pragma once

#include "engine/kernels/activationq8.h"
#include "engine/model/contextmemory.h"
#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"

#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

namespace engine {

// Output rows per parallel block of a decode (matrix-vector) matmul with this weight.
int64_t decodeRowsPerBlock(const WeightMatrix& w);

// The context a run gets unless it asks for one: min(model context, this).
inline constexpr int kDefaultContextCap = 2048;

// Runs the model for one sequence. Holds the KV cache and the activation buffers; the weights
// are shared (read-only) with every other context on the same model.
class InferenceContext {
public:
    // contextLength <= 0 means min(model context, 2048). Throws std::invalid_argument if the
    // requested length is absurd (> 1M tokens) or the KV cache cannot be allocated.
    InferenceContext(std::shared_ptr<const Model> model, int contextLength = 0);

    // Feeds tokens at the next positions (a prompt is one call: matrix-matrix; decoding is one
    // token per call: matrix-vector). Returns the logits of the last token, `vocab` floats.
    // Throws std::length_error if the tokens do not fit in the context, std::out_of_range for an
    // invalid token id, ModelFileError if the logits are NaN/Inf (naming the weights that are) or the
    // model file changed while mapped.
    std::span<const float> eval(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence = 0);
    // As eval, but returns the logits of every fed token: tokens.size() rows of `vocab` floats.
    std::span<const float> evalAll(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence = 0);

    // The same forward pass in three steps, so a layer pipeline can run layer groups of different
    // sequences on different threads: beginStep (embeddings), runLayers over [first, end) in
    // order, finishStep (final norm, logits of the last token; advances the position).
    void beginStep(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence = 0);
    void runLayers(Scheduler& scheduler, int firstLayer, int endLayer);
    std::span<const float> finishStep(Scheduler& scheduler);

    int position() const { return m_pos; }
    int contextLength() const { return m_ctx; }
    void reset() { m_pos = 0; }
    // Forgets every position from `position` on (0 <= position <= position()): the next eval writes there. The keys
    // and values before it stay valid, as attention never reads past the current position.
    void truncate(int position);
    const Model& model() const { return *m_model; }

    // Tokens per forward call; longer prompts are fed in chunks of this size.
    static constexpr int kMaxBatch = 256;
    // The widths of the activations a step of `tokens` tokens quantises to 8 bits (Op::Quantize) in `layer`, or for
    // the logits when layer < 0: one entry per quantisation, in the order the step runs them.
    static std::vector<int64_t> quantizedInputs(const Model& model, int layer, int tokens);

private:
    // One step's activation: a view into m_activations (kMaxBatch tokens, taken from the pool of contextmemory.h by the
    // constructor, and left unwritten: every activation is written before it is read, and its pages are first touched
    // inside the traced op that writes them).
    struct Activations {
        float* values = nullptr;
        float* data() const { return values; }
        float& operator[](size_t i) const { return values[i]; }
    };

    void forwardChunk(
        Scheduler& scheduler, std::span<const int32_t> tokens, int sequence, bool allLogits, float* logitsOut);
    void finishStep(Scheduler& scheduler, bool allLogits, float* logitsOut);
    // After every step: the model file unchanged (Model::requireFileUnchanged) and the logits finite; else throws
    // ModelFileError naming the file and, for NaN/Inf, the tensors that hold them.
    void checkStepResult(std::span<const float> logits) const;
    // xq: x quantised by quantizeInput (decode with block-quantised weights), else null.
    void matmul(Scheduler& scheduler, const RegionInfo& region, const WeightMatrix& w, const float* x, int T, float* y,
        int ldy, const ActivationQ8* xq);
    // Several matmuls of the same x in one parallel region (Scheduler::parallelForParts).
    struct MatmulPart {
        RegionInfo region;
        const WeightMatrix* w;
        float* y;
        int ldy;
    };
    void matmuls(
        Scheduler& scheduler, std::initializer_list<MatmulPart> parts, const float* x, int T, const ActivationQ8* xq);
    void attention(Scheduler& scheduler, const RegionInfo& region, int layer, int T);
    // When the matmuls of `weights` read their input quantised (decode: an integer dot; prefill: an integer matrix
    // kernel): x quantised into m_xq (all weights have x's length as their cols) as Op::Quantize, else null.
    const ActivationQ8* quantizeInput(Scheduler& scheduler, const RegionInfo& region,
        std::initializer_list<const WeightMatrix*> weights, const float* x, int T);

    std::shared_ptr<const Model> m_model;
    int m_ctx = 0;
    int m_pos = 0;
    int m_stepTokens = 0; // tokens of the step in progress
    int m_stepSequence = 0;

    // KV cache, (layers, kvHeads, ctx, headDim): one head's keys are a contiguous matrix. Allocated
    // but never filled: the OS commits a page when a position in it is first written, so a long
    // context costs memory only as it is used. Attention reads only positions already written, so a
    // buffer handed on from an ended context (contextmemory.h) serves as well as a fresh one.
    struct KvBuffer {
        std::unique_ptr<float[], ContextBlockRelease> values;
        float* data() { return values.get(); }
        const float* data() const { return values.get(); }
    };
    KvBuffer m_keys;
    KvBuffer m_values;
    // RoPE table, (ctx, ropeDims/2) cos and sin, scaling and magnitude folded in (computeRopeTable).
    std::vector<float> m_ropeCos;
    std::vector<float> m_ropeSin;

    // Activations for a chunk of T <= kMaxBatch tokens.
    Activations m_x; // (T, dim) residual stream
    Activations m_xb; // (T, dim) normed input of a sub-layer
    Activations m_q; // (T, heads*headDim)
    Activations m_k; // (T, kvDim)
    Activations m_v; // (T, kvDim)
    Activations m_att; // (T, heads*headDim) attention output before Wo
    Activations m_hb; // (T, hidden) silu(gate) * up
    std::unique_ptr<float[], ContextBlockRelease> m_activations; // the seven above, kMaxBatch tokens each
    ActivationQ8 m_xq; // a matmul's input quantised for block-quantised weights (quantizeInput)
    std::vector<float> m_logits; // (T or 1, vocab)
};

} // namespace engine
