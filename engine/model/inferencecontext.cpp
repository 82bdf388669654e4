#include "engine/model/inferencecontext.h"

#include "engine/format/gguffile.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/kernels/int8gemm.h"
#include "engine/kernels/typekernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace engine {

namespace {

// Output rows per block. Blocks are the unit whose arithmetic is fixed: the partitioner only
// decides who runs which block, so results never depend on the thread count.
// Prefill (matrix-matrix): blocks of 64 rows, or of 32 for matrices of fewer than kMinPrefillBlocks blocks of 64.
// A small model's matrices made too few blocks to share: 192 rows are three blocks, two for one thread of two and one
// for the other, so its q, k, v, output and down products ran at three quarters of two threads. Blocks of 32 rows
// (two panels of the tile) compute as fast as blocks of 64 here (standalone, one thread, 192 and 512 columns, 128
// tokens: 171-181 against 171-177 GFLOP/s; 16 rows fell to 116-119). Shape only, never the thread count; and as the
// tile computes every output the same way whatever the rows around it, never a result.
constexpr int64_t kRowsPerBlockMatrix = 64;
constexpr int64_t kRowsPerSmallBlockMatrix = 32;
constexpr int64_t kMinPrefillBlocks = 8;
// From this many tokens on, RoPE (and the KV-cache copy) runs per head in parallel, and the norms, the residual adds
// and the activations' quantisation per token; below (decode), each is one serial section, cheaper than a fork and
// join.
constexpr int kMinParallelTokens = 16;
// Per-token steps run in blocks of whole tokens of at least this many values, so that a block outweighs its share
// of the fork and join (a token of a small model is a few hundred values, well under a microsecond of work; a norm
// of 4096 values took ~4 us here, a residual add ~1 us, a 2-thread region's fork and join 1-3 us).
constexpr int64_t kMinValuesPerTokenBlock = 8192;

int64_t rowsPerBlock(const WeightMatrix& w, int T)
{
    if (T == 1)
        return decodeRowsPerBlock(w);
    return w.rows < kMinPrefillBlocks * kRowsPerBlockMatrix ? kRowsPerSmallBlockMatrix : kRowsPerBlockMatrix;
}

size_t blockCount(const WeightMatrix& w, int T)
{
    const int64_t per = rowsPerBlock(w, T);
    return size_t((w.rows + per - 1) / per);
}

// Prefill of block-quantised weights by integer matrix kernels, where they are vectorised (the scalar
// one is slower than dequantising and multiplying in float).
bool useInt8Gemm(const WeightMatrix& w)
{
    return hasInt8Gemm(w.type) && int8GemmVectorised() && w.cols % int64_t(ActivationQ8::kBlock) == 0;
}

// Whether matmuls of `weights` (one input) over T tokens read their input quantised (ActivationQ8): decode where a
// type has an integer dot, prefill where it has an integer matrix kernel.
bool quantizesInput(std::initializer_list<const WeightMatrix*> weights, int T)
{
    return T == 1 ? std::any_of(weights.begin(), weights.end(),
               [](const WeightMatrix* w) {
                   return typeKernels(w->type).dotQ8 != nullptr && w->cols % int64_t(ActivationQ8::kBlock) == 0;
               })
                  : std::any_of(weights.begin(), weights.end(), [](const WeightMatrix* w) { return useInt8Gemm(*w); });
}

// f(t0, t1) over the tokens [0, T), each token `width` values whose arithmetic does not depend on the others: from
// kMinParallelTokens tokens on, and when there are at least two blocks of tokens and two threads to share them, a
// parallel region of `region`'s op over the blocks (units = tokens); else one serial section (decode, short prompts
// of small models, one thread).
// Whichever thread runs a token computes it the same way, so results never depend on the threads.
template <typename F> void forTokens(Scheduler& scheduler, RegionInfo region, int T, int64_t width, F&& f)
{
    const int least = int(std::max<int64_t>(1, (kMinValuesPerTokenBlock + width - 1) / std::max<int64_t>(1, width)));
    if (T < kMinParallelTokens || T <= least || scheduler.threads() < 2) { // one thread: a region is only its cost
        scheduler.serial(region, [&] { f(0, T); });
        return;
    }
    // As many blocks as `least` tokens fit (at least two), the tokens shared evenly: 45 tokens of blocks of 43 at
    // least are 23 + 22, not 43 + 2. The blocks depend on T and the width only, never on the threads.
    const int blocks = std::max(2, T / least);
    const int per = (T + blocks - 1) / blocks;
    region.units = uint32_t(T);
    region.unitsPerBlock = uint32_t(per);
    scheduler.parallelFor(region, size_t((T + per - 1) / per),
        [&](size_t b0, size_t b1) { f(int(b0) * per, std::min(T, int(b1) * per)); });
}

// y[t][r - r0] = dot(w.row(r), x[t]) for r in [r0, r1), t < T; x is (T, w.cols), y has leading dim ldy.
// xq: x quantised (quantizeInput), used by the types that have integer dots (decode) or an integer
// matrix kernel (prefill).
void computeRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, int T, float* y, int64_t ldy,
    const ActivationQ8* xq = nullptr)
{
    const size_t n = size_t(w.cols);
    if (T == 1) {
        // One row at a time, front to back: the weights are read as one sequential stream, which the
        // hardware prefetcher follows best (interleaving 4 rows was clearly slower; with the dots' software prefetch,
        // 2 or 4 rows per call sharing the activation's loads were still no faster: docs/benchmarks.md).
        const TypeKernels& k = typeKernels(w.type);
        if (xq && w.decodeRows && k.dotQ8Groups) { // Q4_0 repacked at load (Model::packDecodeGroups)
            for (int64_t r = r0; r < r1; ++r)
                y[r - r0] = k.dotQ8Groups(w.decodeRows + uint64_t(r) * w.rowBytes, *xq, n);
            return;
        }
        if (xq && k.dotQ8) {
            for (int64_t r = r0; r < r1; ++r)
                y[r - r0] = k.dotQ8(w.row(r), *xq, n);
            return;
        }
        for (int64_t r = r0; r < r1; ++r)
            y[r - r0] = k.dot(w.row(r), x, n);
        return;
    }
    const int64_t nr = r1 - r0;
    if (xq && useInt8Gemm(w)) {
        int8Gemm(w.type, w.row(r0), size_t(w.rowBytes), nr, n, *xq, T, y, ldy);
        return;
    }
    const float* wf;
    if (w.type == GgmlType::F32) {
        if (w.panels && r0 % kWeightPanelRows == 0) { // packed at load (Model::packPrefillPanels)
            cpuKernels().matmulWeightPanels(x, w.cols, w.panels + r0 * w.cols, y, ldy, T, nr, w.cols);
            return;
        }
        wf = reinterpret_cast<const float*>(w.row(r0));
    } else {
        // Dequantise just this block of rows into per-thread scratch; the weights stay as stored.
        thread_local std::vector<float> scratch;
        scratch.resize(size_t(nr) * n);
        const TypeKernels& k = typeKernels(w.type);
        for (int64_t r = 0; r < nr; ++r)
            k.dequantizeRow(w.row(r0 + r), scratch.data() + size_t(r) * n, n);
        wf = scratch.data();
    }
    // Y (T × nr) = X (T × cols) · Wᵀ, with the CPU's widest SIMD (kernels/cpudispatch.h); the workspace holds the
    // block's rows packed for the kernel.
    thread_local std::vector<float> packed;
    packed.resize(matmulWeightsWorkspaceFloats(nr, w.cols));
    cpuKernels().matmulWeights(x, w.cols, wf, w.cols, y, ldy, T, nr, w.cols, packed.data());
}

} // namespace

int64_t decodeRowsPerBlock(const WeightMatrix& w)
{
    // At least 16384 weights per block (64 KiB of F32) and at least 32 KiB of weights, at least 16 rows, a
    // multiple of 16. Depends only on the matrix's shape and type, never on the thread count; and as decode
    // computes each row on its own, the block size never changes a result.
    // Why these sizes: every chunk has a fixed cost in TBB and in the tracer, and smaller blocks made
    // more chunks without balancing better: 8 KiB blocks decoded slower than 64 KiB ones at 1 and 2
    // threads and paid several times the tracing overhead. Counted in weights alone, a 4-bit block was 9 KiB,
    // read in about 1.4 µs on one thread, and the per-chunk costs (the partitioner's task, about 70 ns of trace
    // records) came to 5-6% of a one-thread Q4_0 decode of the 110M shape (3500 chunks per token); hence the
    // floor in bytes. F32, F16 and BF16 blocks are what the weight count gives.
    constexpr int64_t kWeightsPerBlock = 16384;
    constexpr int64_t kBytesPerBlock = 32768;
    const int64_t cols = std::max<int64_t>(1, w.cols);
    const int64_t rowBytes = std::max<int64_t>(1, int64_t(w.rowBytes));
    const int64_t rows = std::max((kWeightsPerBlock + cols - 1) / cols, (kBytesPerBlock + rowBytes - 1) / rowBytes);
    return std::max<int64_t>(16, (rows + 15) / 16 * 16);
}

InferenceContext::InferenceContext(std::shared_ptr<const Model> model, int contextLength)
    : m_model(std::move(model))
{
    const ModelConfig& c = m_model->config();
    if (contextLength > (1 << 20))
        throw std::invalid_argument("context length " + std::to_string(contextLength) + " is too large (max 1048576)");
    m_ctx = contextLength > 0 ? contextLength : std::min(c.contextLength, kDefaultContextCap);
    const size_t kvElems = size_t(c.layers) * size_t(c.kvDim()) * size_t(m_ctx);
    const size_t widths[] = { size_t(c.dim), size_t(c.dim), size_t(c.heads) * size_t(c.headDim), size_t(c.kvDim()),
        size_t(c.kvDim()), size_t(c.heads) * size_t(c.headDim), size_t(c.hidden) };
    size_t activationFloats = 0;
    for (size_t w : widths)
        activationFloats += size_t(kMaxBatch) * w;
    try {
        m_keys.values = acquireContextBlock(kvElems);
        m_values.values = acquireContextBlock(kvElems);
        m_activations = acquireContextBlock(activationFloats);
    } catch (const std::bad_alloc&) {
        throw std::invalid_argument("not enough memory for a context of " + std::to_string(m_ctx) + " tokens (KV cache "
            + std::to_string(2 * kvElems * 4 / (1 << 20)) + " MiB, activations "
            + std::to_string(activationFloats * 4 / (1 << 20)) + " MiB)");
    }
    Activations* views[] = { &m_x, &m_xb, &m_q, &m_k, &m_v, &m_att, &m_hb };
    float* at = m_activations.get();
    for (size_t i = 0; i < std::size(views); ++i) {
        views[i]->values = at;
        at += size_t(kMaxBatch) * widths[i];
    }
    computeRopeTable(c, m_ctx, m_ropeCos, m_ropeSin);
}

void InferenceContext::truncate(int position)
{
    if (position < 0 || position > m_pos)
        throw std::out_of_range(
            "cannot truncate a context at position " + std::to_string(m_pos) + " to " + std::to_string(position));
    m_pos = position;
}

std::span<const float> InferenceContext::eval(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence)
{
    const int vocab = m_model->config().vocab;
    if (tokens.empty())
        throw std::invalid_argument("eval needs at least one token");
    for (size_t i = 0; i < tokens.size(); i += kMaxBatch) {
        const auto chunk = tokens.subspan(i, std::min<size_t>(kMaxBatch, tokens.size() - i));
        m_logits.resize(size_t(vocab));
        forwardChunk(scheduler, chunk, sequence, false, m_logits.data());
    }
    return { m_logits.data(), size_t(vocab) };
}

std::span<const float> InferenceContext::evalAll(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence)
{
    const size_t vocab = size_t(m_model->config().vocab);
    if (tokens.empty())
        throw std::invalid_argument("eval needs at least one token");
    std::vector<float> all(tokens.size() * vocab);
    for (size_t i = 0; i < tokens.size(); i += kMaxBatch) {
        const auto chunk = tokens.subspan(i, std::min<size_t>(kMaxBatch, tokens.size() - i));
        forwardChunk(scheduler, chunk, sequence, true, all.data() + i * vocab);
    }
    m_logits = std::move(all);
    return { m_logits.data(), m_logits.size() };
}

void InferenceContext::matmul(Scheduler& scheduler, const RegionInfo& region, const WeightMatrix& w, const float* x,
    int T, float* y, int ldy, const ActivationQ8* xq)
{
    matmuls(scheduler, { { region, &w, y, ldy } }, x, T, xq);
}

void InferenceContext::matmuls(
    Scheduler& scheduler, std::initializer_list<MatmulPart> parts, const float* x, int T, const ActivationQ8* xq)
{
    if (parts.size() > Scheduler::kMaxParts)
        throw std::invalid_argument(
            "matmuls: at most " + std::to_string(Scheduler::kMaxParts) + " matrices per region");
    std::array<RegionInfo, Scheduler::kMaxParts> regions;
    std::array<size_t, Scheduler::kMaxParts> blocks;
    std::array<int64_t, Scheduler::kMaxParts> per;
    size_t n = 0;
    for (const MatmulPart& part : parts) {
        per[n] = rowsPerBlock(*part.w, T);
        regions[n] = part.region;
        regions[n].unitsPerBlock = uint32_t(per[n]);
        regions[n].units = uint32_t(part.w->rows);
        blocks[n] = blockCount(*part.w, T);
        ++n;
    }
    const MatmulPart* list = parts.begin();
    scheduler.parallelForParts({ regions.data(), n }, { blocks.data(), n }, [&](size_t p, size_t b0, size_t b1) {
        const MatmulPart& part = list[p];
        for (size_t b = b0; b < b1; ++b) {
            const int64_t r0 = int64_t(b) * per[p];
            const int64_t r1 = std::min(part.w->rows, r0 + per[p]);
            computeRows(*part.w, r0, r1, x, T, part.y + r0, part.ldy, xq);
        }
    });
}

const ActivationQ8* InferenceContext::quantizeInput(Scheduler& scheduler, const RegionInfo& region,
    std::initializer_list<const WeightMatrix*> weights, const float* x, int T)
{
    if (!quantizesInput(weights, T))
        return nullptr;
    // Once per input, before the rows that read it fan out. Prefill quantises all T rows back to back (row t's
    // blocks start at block t * cols / 32), each token's blocks on their own, in parallel from kMinParallelTokens on.
    const size_t n = size_t((*weights.begin())->cols);
    m_xq.resize(size_t(T) * n);
    RegionInfo quantize = region;
    quantize.op = Op::Quantize;
    forTokens(scheduler, quantize, T, int64_t(n),
        [&](int t0, int t1) { m_xq.quantizeRange(x, size_t(t0) * n, size_t(t1) * n); });
    return &m_xq;
}

std::vector<int64_t> InferenceContext::quantizedInputs(const Model& model, int layer, int tokens)
{
    std::vector<int64_t> widths;
    auto add = [&](std::initializer_list<const WeightMatrix*> weights) {
        if (quantizesInput(weights, tokens))
            widths.push_back((*weights.begin())->cols);
    };
    if (layer < 0) {
        add({ &model.output() });
        return widths;
    }
    const LayerWeights& L = model.layers().at(size_t(layer));
    // runLayers' quantizeInput calls, in order.
    add({ &L.wq, &L.wk, &L.wv });
    add({ &L.wo });
    add({ &L.gate, &L.up });
    add({ &L.down });
    return widths;
}

void InferenceContext::attention(Scheduler& scheduler, const RegionInfo& region, int layer, int T)
{
    const ModelConfig& c = m_model->config();
    const int hd = c.headDim;
    const int qDim = c.heads * hd;
    const int groupSize = c.heads / c.kvHeads;
    const int pos0 = m_pos;
    const float scale = 1.0f / std::sqrt(float(hd));
    // One block per query head; a lane's consecutive heads that share a key/value head go to the kernel together
    // (it packs their keys once). Causal attention per query, the same bits whatever the grouping (CpuKernels).
    RegionInfo r = region;
    r.units = uint32_t(c.heads);
    const CpuKernels& kernels = cpuKernels();
    scheduler.parallelFor(r, size_t(c.heads), [&](size_t h0, size_t h1) {
        for (size_t h = h0; h < h1;) {
            const size_t kvh = h / size_t(groupSize);
            const size_t end = std::min(h1, (kvh + 1) * size_t(groupSize));
            const size_t cacheOffset = (size_t(layer) * c.kvHeads + kvh) * size_t(m_ctx) * size_t(hd);
            kernels.attention(m_q.data() + h * hd, qDim, m_keys.data() + cacheOffset, m_values.data() + cacheOffset,
                m_att.data() + h * hd, qDim, int(end - h), T, pos0, hd, scale);
            h = end;
        }
    });
}

void InferenceContext::forwardChunk(
    Scheduler& scheduler, std::span<const int32_t> tokens, int sequence, bool allLogits, float* logitsOut)
{
    beginStep(scheduler, tokens, sequence);
    runLayers(scheduler, 0, m_model->config().layers);
    finishStep(scheduler, allLogits, logitsOut);
}

void InferenceContext::beginStep(Scheduler& scheduler, std::span<const int32_t> tokens, int sequence)
{
    const Model& model = *m_model;
    const ModelConfig& c = model.config();
    const int T = int(tokens.size());
    if (T < 1 || T > kMaxBatch)
        throw std::invalid_argument(
            "a step takes 1.." + std::to_string(kMaxBatch) + " tokens, got " + std::to_string(T));
    if (m_pos + T > m_ctx)
        throw std::length_error("the context is full: " + std::to_string(m_pos) + " + " + std::to_string(T)
            + " tokens exceed the context length of " + std::to_string(m_ctx));
    const int dim = c.dim;
    for (int t = 0; t < T; ++t) {
        const int32_t id = tokens[size_t(t)];
        if (id < 0 || id >= c.vocab)
            throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary (0.."
                + std::to_string(c.vocab - 1) + ")");
    }
    m_stepTokens = T;
    m_stepSequence = sequence;

    // Token embeddings: one row each, dequantised from the stored type.
    const RegionInfo embed { .op = Op::Embed, .layer = -1, .sequence = sequence, .position = m_pos, .tokens = T };
    scheduler.serial(embed, [&] {
        const TypeKernels& embedKernels = typeKernels(model.tokenEmbedding().type);
        for (int t = 0; t < T; ++t)
            embedKernels.dequantizeRow(
                model.tokenEmbedding().row(tokens[size_t(t)]), m_x.data() + size_t(t) * dim, size_t(dim));
    });
}

void InferenceContext::runLayers(Scheduler& scheduler, int firstLayer, int endLayer)
{
    const Model& model = *m_model;
    const ModelConfig& c = model.config();
    const int T = m_stepTokens;
    const int sequence = m_stepSequence;
    const int dim = c.dim;
    const int hd = c.headDim;
    const int qDim = c.heads * hd;
    const int kvDim = c.kvDim();
    const int half = c.ropeDims / 2; // pairs that rotate; dims from ropeDims on pass through
    auto region = [&](Op op, int layer) {
        return RegionInfo { .op = op, .layer = layer, .sequence = sequence, .position = m_pos, .tokens = T };
    };

    auto rotate = [&](float* head, int pos) {
        const float* cs = m_ropeCos.data() + size_t(pos) * half;
        const float* sn = m_ropeSin.data() + size_t(pos) * half;
        if (c.ropeInterleaved) {
            for (int j = 0; j < half; ++j) {
                const float x0 = head[2 * j];
                const float x1 = head[2 * j + 1];
                head[2 * j] = x0 * cs[j] - x1 * sn[j];
                head[2 * j + 1] = x0 * sn[j] + x1 * cs[j];
            }
        } else {
            for (int j = 0; j < half; ++j) {
                const float x0 = head[j];
                const float x1 = head[j + half];
                head[j] = x0 * cs[j] - x1 * sn[j];
                head[j + half] = x0 * sn[j] + x1 * cs[j];
            }
        }
    };

    for (int l = firstLayer; l < endLayer; ++l) {
        const LayerWeights& L = model.layers()[size_t(l)];
        auto norm = [&](const std::vector<float>& weight) {
            forTokens(scheduler, region(Op::RmsNorm, l), T, dim, [&](int t0, int t1) {
                for (int t = t0; t < t1; ++t)
                    rmsNorm(m_xb.data() + size_t(t) * dim, m_x.data() + size_t(t) * dim, weight.data(), size_t(dim),
                        c.rmsEps);
            });
        };
        auto addResidual = [&] {
            forTokens(scheduler, region(Op::Residual, l), T, dim, [&](int t0, int t1) {
                for (size_t i = size_t(t0) * dim; i < size_t(t1) * dim; ++i)
                    m_x[i] += m_xb[i];
            });
        };

        // ---- attention block: x += Wo · attention(rope(Wq·xb), rope(Wk·xb), Wv·xb)
        norm(L.attnNorm);
        const ActivationQ8* xq
            = quantizeInput(scheduler, region(Op::AttnQ, l), { &L.wq, &L.wk, &L.wv }, m_xb.data(), T);
        // q, k and v in one region: they read the same input, and k and v alone are often one block.
        matmuls(scheduler,
            { { region(Op::AttnQ, l), &L.wq, m_q.data(), qDim }, { region(Op::AttnK, l), &L.wk, m_k.data(), kvDim },
                { region(Op::AttnV, l), &L.wv, m_v.data(), kvDim } },
            m_xb.data(), T, xq);
        // Per head, for all T tokens: q heads first, then kv heads (whose k and v also go to the cache). The biases,
        // the optional per-head norm and the rotation of one head touch that head alone, so the heads run in parallel
        // in prefill (and write the cache's new pages on both lanes); decode's single token keeps one serial section,
        // cheaper than a fork and join.
        const size_t ropeHeads = size_t(c.heads) + size_t(c.kvHeads);
        auto addBias = [&](float* x, const std::vector<float>& bias, size_t head) {
            if (!bias.empty())
                for (int i = 0; i < hd; ++i)
                    x[i] += bias[head * hd + size_t(i)];
        };
        // One head of one token: its bias, its optional norm, then the rotation.
        auto prepareHead
            = [&](float* x, const std::vector<float>& bias, const std::vector<float>& norm, size_t head, int pos) {
                  addBias(x, bias, head);
                  if (!norm.empty())
                      rmsNorm(x, x, norm.data(), size_t(hd), c.rmsEps);
                  rotate(x, pos);
              };
        auto ropeRange = [&](size_t h0, size_t h1) {
            for (size_t h = h0; h < h1; ++h) {
                const bool isQ = h < size_t(c.heads);
                const size_t head = isQ ? h : h - size_t(c.heads);
                for (int t = 0; t < T; ++t) {
                    const int pos = m_pos + t;
                    if (isQ) {
                        prepareHead(m_q.data() + size_t(t) * qDim + head * hd, L.qBias, L.qNorm, head, pos);
                        continue;
                    }
                    float* k = m_k.data() + size_t(t) * kvDim + head * hd;
                    float* v = m_v.data() + size_t(t) * kvDim + head * hd;
                    addBias(v, L.vBias, head);
                    prepareHead(k, L.kBias, L.kNorm, head, pos);
                    const size_t at = ((size_t(l) * c.kvHeads + head) * size_t(m_ctx) + size_t(pos)) * size_t(hd);
                    std::copy(k, k + hd, m_keys.data() + at);
                    std::copy(v, v + hd, m_values.data() + at);
                }
            }
        };
        if (T >= kMinParallelTokens) {
            RegionInfo rope = region(Op::Rope, l);
            rope.units = uint32_t(ropeHeads);
            rope.unitsPerBlock = 1;
            scheduler.parallelFor(rope, ropeHeads, ropeRange);
        } else {
            scheduler.serial(region(Op::Rope, l), [&] { ropeRange(0, ropeHeads); });
        }
        attention(scheduler, region(Op::Attention, l), l, T);
        matmul(scheduler, region(Op::AttnOut, l), L.wo, m_att.data(), T, m_xb.data(), dim,
            quantizeInput(scheduler, region(Op::AttnOut, l), { &L.wo }, m_att.data(), T));
        addResidual();

        // ---- feed-forward block: x += W2 · (silu(W1·xb) * W3·xb)
        norm(L.ffnNorm);
        {
            const int64_t per = rowsPerBlock(L.gate, T);
            const int hidden = c.hidden;
            RegionInfo gateUp = region(Op::FfnGateUp, l);
            gateUp.unitsPerBlock = uint32_t(per);
            gateUp.units = uint32_t(hidden);
            const ActivationQ8* xq = quantizeInput(scheduler, gateUp, { &L.gate, &L.up }, m_xb.data(), T);
            scheduler.parallelFor(gateUp, blockCount(L.gate, T), [&](size_t b0, size_t b1) {
                thread_local std::vector<float> g, u;
                for (size_t b = b0; b < b1; ++b) {
                    const int64_t r0 = int64_t(b) * per;
                    const int64_t r1 = std::min<int64_t>(hidden, r0 + per);
                    const int64_t nr = r1 - r0;
                    g.resize(size_t(T * nr));
                    u.resize(size_t(T * nr));
                    computeRows(L.gate, r0, r1, m_xb.data(), T, g.data(), nr, xq);
                    computeRows(L.up, r0, r1, m_xb.data(), T, u.data(), nr, xq);
                    for (int t = 0; t < T; ++t)
                        siluMul(g.data() + size_t(t * nr), u.data() + size_t(t * nr),
                            m_hb.data() + size_t(t) * hidden + size_t(r0), size_t(nr));
                }
            });
        }
        matmul(scheduler, region(Op::FfnDown, l), L.down, m_hb.data(), T, m_xb.data(), dim,
            quantizeInput(scheduler, region(Op::FfnDown, l), { &L.down }, m_hb.data(), T));
        addResidual();
    }
}

std::span<const float> InferenceContext::finishStep(Scheduler& scheduler)
{
    m_logits.resize(size_t(m_model->config().vocab));
    finishStep(scheduler, false, m_logits.data());
    return { m_logits.data(), m_logits.size() };
}

void InferenceContext::finishStep(Scheduler& scheduler, bool allLogits, float* logitsOut)
{
    const Model& model = *m_model;
    const ModelConfig& c = model.config();
    const int T = m_stepTokens;
    const int sequence = m_stepSequence;
    const int dim = c.dim;
    auto region = [&](Op op, int layer) {
        return RegionInfo { .op = op, .layer = layer, .sequence = sequence, .position = m_pos, .tokens = T };
    };

    // ---- final norm and logits (of the last token only, unless every position is wanted)
    const int first = allLogits ? 0 : T - 1;
    const int rows = T - first;
    // In parallel only when that many rows' logits are wanted (all of a long chunk's), else one serial section.
    forTokens(scheduler, region(Op::RmsNorm, -1), rows, dim, [&](int r0, int r1) {
        for (int r = r0; r < r1; ++r)
            rmsNorm(m_xb.data() + size_t(r) * dim, m_x.data() + size_t(first + r) * dim, model.outputNorm().data(),
                size_t(dim), c.rmsEps);
    });
    const RegionInfo logits {
        .op = Op::Logits, .layer = -1, .sequence = sequence, .position = m_pos + first, .tokens = rows
    };
    matmul(scheduler, logits, model.output(), m_xb.data(), rows, logitsOut, c.vocab,
        quantizeInput(scheduler, logits, { &model.output() }, m_xb.data(), rows));
    m_pos += T;
    checkStepResult(std::span<const float>(logitsOut, size_t(rows) * size_t(c.vocab)));
}

void InferenceContext::checkStepResult(std::span<const float> logits) const
{
    // Both checks cost about 1/dim of the step that produced the logits: one fstat and one pass over them.
    m_model->requireFileUnchanged();
    float probe = 0.0f; // NaN as soon as one logit is NaN or Inf (x * 0), without a branch per logit
    for (float v : logits)
        probe += v * 0.0f;
    if (probe == 0.0f)
        return;
    const std::vector<std::string> tensors = m_model->nonFiniteTensors();
    std::string names;
    for (const std::string& t : tensors)
        names += (names.empty() ? "" : ", ") + t;
    if (!tensors.empty())
        throw ModelFileError(m_model->source(),
            "the logits are NaN or Inf because weights are: " + names + " hold(s) NaN or Inf values");
    throw ModelFileError(m_model->source(),
        "the logits are NaN or Inf though every weight is finite: the model's activations overflow in F32");
}

} // namespace engine
