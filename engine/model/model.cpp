#include "engine/model/model.h"

#include "engine/format/gguffile.h"
#include "engine/format/mappedfile.h"
#include "engine/format/memorybudget.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/kernels/q4groups.h"
#include "engine/kernels/typekernels.h"
#include "engine/model/inferencecontext.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <sstream>
#include <string_view>

namespace engine {

namespace {

constexpr const char* kSupportedArchitectures = "llama, qwen2, qwen3";

class Loader {
public:
    explicit Loader(const GgufFile& file)
        : m_file(file)
    {
    }

    [[noreturn]] void fail(const std::string& problem) const { throw ModelFileError(m_file.path(), problem); }

    int hyper(const std::string& key, uint64_t maxValue) const
    {
        const uint64_t v = m_file.getUInt(key);
        if (v == 0 || v > maxValue)
            fail("metadata '" + key + "' = " + std::to_string(v) + " is out of range (1.." + std::to_string(maxValue)
                + ")");
        return int(v);
    }

    const GgufTensorInfo& tensor(const std::string& name) const
    {
        const GgufTensorInfo* t = m_file.findTensor(name);
        if (!t)
            fail("missing tensor '" + name + "'");
        if (!ggmlTypeIsSupported(t->type))
            fail(std::string("tensor '") + name + "' has type " + ggmlTypeName(t->type)
                + ", which this build cannot compute with yet");
        return *t;
    }

    WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols) const
    {
        const GgufTensorInfo& t = tensor(name);
        const bool ok = (t.dims.size() == 2 && int64_t(t.dims[0]) == cols && int64_t(t.dims[1]) == rows)
            || (t.dims.size() == 1 && rows == 1 && int64_t(t.dims[0]) == cols);
        if (!ok)
            fail("tensor '" + name + "' has shape " + shape(t) + ", expected [" + std::to_string(cols) + ", "
                + std::to_string(rows) + "]");
        WeightMatrix m;
        m.type = t.type;
        m.rows = rows;
        m.cols = cols;
        m.rowBytes = ggmlRowBytes(t.type, uint64_t(cols));
        m.data = t.data;
        return m;
    }

    // Norm weights are tiny: keep them as F32 copies whatever their stored type.
    std::vector<float> vector(const std::string& name, int64_t n) const
    {
        const GgufTensorInfo& t = tensor(name);
        if (t.dims.size() != 1 || int64_t(t.dims[0]) != n)
            fail("tensor '" + name + "' has shape " + shape(t) + ", expected [" + std::to_string(n) + "]");
        std::vector<float> v(static_cast<size_t>(n));
        typeKernels(t.type).dequantizeRow(t.data, v.data(), size_t(n));
        return v;
    }

    static std::string shape(const GgufTensorInfo& t)
    {
        std::ostringstream s;
        s << '[';
        for (size_t i = 0; i < t.dims.size(); ++i)
            s << (i ? ", " : "") << t.dims[i];
        s << ']';
        return s.str();
    }

private:
    const GgufFile& m_file;
};

// RoPE hyper-parameters as llama.cpp reads them (llama_model::load_hparams) and turns them into
// the context's (llama_context's constructor): freq_scale, ext_factor, attn_factor.
void loadRope(const Loader& loader, const GgufFile& file, const std::string& p, ModelConfig& c)
{
    const uint64_t ropeDims = file.getUInt(p + "rope.dimension_count", uint64_t(c.headDim));
    if (ropeDims == 0 || ropeDims % 2 != 0 || ropeDims > uint64_t(c.headDim))
        loader.fail("rope.dimension_count " + std::to_string(ropeDims) + " must be even and within the head dimension "
            + std::to_string(c.headDim));
    // llama.cpp refuses partial rotation for llama ("invalid n_rot"); the NeoX families allow it.
    if (c.ropeInterleaved && ropeDims != uint64_t(c.headDim))
        loader.fail("partial RoPE (rope.dimension_count " + std::to_string(ropeDims) + " < head dimension "
            + std::to_string(c.headDim) + ") is not supported for architecture '" + c.architecture
            + "' (llama.cpp refuses it too)");
    c.ropeDims = int(ropeDims);

    // Absent type: llama.cpp assumes "linear", which is no scaling unless a factor is given.
    float factor = 0.0f;
    if (file.has(p + "rope.scaling.factor"))
        factor = float(file.getFloat(p + "rope.scaling.factor"));
    else if (file.has(p + "rope.scale_linear"))
        factor = float(file.getFloat(p + "rope.scale_linear"));
    if (!std::isfinite(factor) || factor < 0.0f)
        loader.fail("rope.scaling.factor " + std::to_string(factor) + " must be positive and finite");
    const std::string type = file.getString(p + "rope.scaling.type", "linear");
    if (type == "none")
        c.ropeScaling = RopeScaling::None;
    else if (type == "linear")
        c.ropeScaling = factor == 0.0f || factor == 1.0f ? RopeScaling::None : RopeScaling::Linear;
    else if (type == "yarn")
        c.ropeScaling = RopeScaling::Yarn;
    else
        loader.fail("RoPE scaling type '" + type + "' (" + p
            + "rope.scaling.type) is not supported (supported: none, "
              "linear, yarn)");
    c.ropeScaleFactor = c.ropeScaling == RopeScaling::None || factor == 0.0f ? 1.0f : factor;
    c.ropeOriginalContext = file.has(p + "rope.scaling.original_context_length")
        ? loader.hyper(p + "rope.scaling.original_context_length", 1 << 24)
        : c.contextLength;
    c.yarnBetaFast = float(file.getFloat(p + "rope.scaling.yarn_beta_fast", 32.0));
    c.yarnBetaSlow = float(file.getFloat(p + "rope.scaling.yarn_beta_slow", 1.0));
    const double extFactor = file.getFloat(p + "rope.scaling.yarn_ext_factor", -1.0);
    c.yarnExtFactor = extFactor >= 0.0 ? float(extFactor) : (c.ropeScaling == RopeScaling::Yarn ? 1.0f : 0.0f);
    if (file.getFloat(p + "rope.scaling.yarn_log_multiplier", 0.0) != 0.0)
        loader.fail("rope.scaling.yarn_log_multiplier (DeepSeek's YaRN variant) is not supported");
    // llama_context: with YaRN's ramp on, attn_factor = get_mscale(factor) / (1 + 0.1 ln factor), which
    // ggml's rope_yarn then multiplies by (1 + 0.1 ln(1/freq_scale)) again; then by rope.scaling.attn_factor.
    float attnFactor = float(file.getFloat(p + "rope.scaling.yarn_attn_factor", 1.0));
    if (c.yarnExtFactor != 0.0f) {
        const float f = 1.0f / c.ropeFreqScale();
        const float mscale = f <= 1.0f ? 1.0f : 0.1f * std::log(f) + 1.0f;
        attnFactor = mscale / (1.0f + 0.1f * std::log(f));
    }
    c.ropeAttnFactor = attnFactor * float(file.getFloat(p + "rope.scaling.attn_factor", 1.0));
    if (!std::isfinite(c.ropeAttnFactor) || !std::isfinite(c.yarnBetaFast) || !std::isfinite(c.yarnBetaSlow))
        loader.fail("RoPE scaling parameters must be finite");

    // Llama 3.1+ frequency factors: llama.cpp reads them for llama only (the qwen graphs pass none,
    // and refuse the file for its unused tensor).
    if (file.findTensor("rope_freqs.weight")) {
        if (!c.ropeInterleaved)
            loader.fail("tensor 'rope_freqs.weight' is not used by architecture '" + c.architecture + "'");
        c.ropeFreqFactors = loader.vector("rope_freqs.weight", c.ropeDims / 2);
        for (float f : c.ropeFreqFactors)
            if (!(f > 0.0f) || !std::isfinite(f))
                loader.fail("tensor 'rope_freqs.weight' holds a factor that is not positive and finite");
    }
}

// Whether a model's file is copied into anonymous memory rather than read through its mapping (see
// MappedFile::copyIntoAnonymousMemory): for files large enough that decode streams them from memory every token, and
// only when the budget holds the copy beside the file's pages in the page cache, so the copy never pushes the
// machine into reclaiming. PLAYGROUND_WEIGHTS=mapped keeps every file mapped (to compare both).
bool copyWeightsIntoMemory(uint64_t fileBytes, uint64_t workingBytes, const MemoryBudget& budget)
{
    constexpr uint64_t kMinBytes = uint64_t(64) << 20; // smaller models stay in the caches after the first token
    const char* choice = std::getenv("PLAYGROUND_WEIGHTS");
    if (choice && std::string_view(choice) == "mapped")
        return false;
    return fileBytes >= kMinBytes && budget.available != 0 && 2 * fileBytes + workingBytes <= budget.available;
}

} // namespace

std::shared_ptr<const Model> Model::load(const std::string& path)
{
    // Measured before mapping: a limit on the address space (RLIMIT_AS) would otherwise already count the file. A
    // file that cannot fit on its own is refused before it is mapped.
    const MemoryBudget budget = MemoryBudget::current();
    std::error_code sizeError;
    if (const uint64_t size = std::filesystem::file_size(path, sizeError); !sizeError)
        requireMemory(path, size, "the file mapped, " + formatBytes(size), budget);
    return fromGgufChecked(std::make_shared<const GgufFile>(GgufFile::open(path)), &budget);
}

namespace {
// Small models keep packed copies of their F32 layer matrices for prefill (Model::packPrefillPanels) up to this many
// bytes in all.
constexpr uint64_t kMaxPanelBytes = uint64_t(64) << 20;

// The bytes of those copies were every layer matrix F32, from the shapes alone; 0 above kMaxPanelBytes, where
// nothing is packed.
uint64_t f32PanelBytes(const ModelConfig& c)
{
    const int64_t q = c.qDim(), kv = c.kvDim();
    const uint64_t perLayer = weightPanelFloats(q, c.dim) + 2 * weightPanelFloats(kv, c.dim)
        + weightPanelFloats(c.dim, q) + 2 * weightPanelFloats(c.hidden, c.dim) + weightPanelFloats(c.dim, c.hidden);
    const uint64_t bytes = (uint64_t(c.layers) * perLayer * sizeof(float) + 63) / 64 * 64;
    return bytes <= kMaxPanelBytes ? bytes : 0;
}
} // namespace

uint64_t Model::workingBytes(const ModelConfig& c)
{
    const uint64_t ctx = uint64_t(std::min(c.contextLength, kDefaultContextCap));
    const uint64_t kv = 2 * uint64_t(c.layers) * uint64_t(c.kvDim()) * ctx * sizeof(float);
    const uint64_t T = uint64_t(InferenceContext::kMaxBatch);
    const uint64_t activations = T
        * (2 * uint64_t(c.dim) + 2 * uint64_t(c.qDim()) + 2 * uint64_t(c.kvDim()) + 2 * uint64_t(c.hidden)
            + uint64_t(c.vocab))
        * sizeof(float);
    const uint64_t copies = (uint64_t(c.layers) * (2 * uint64_t(c.dim) + uint64_t(c.qDim()) + 2 * uint64_t(c.kvDim()))
                                + uint64_t(c.dim) + ctx * uint64_t(c.ropeDims))
        * sizeof(float);
    // The packed panels are counted as if the matrices were F32 (the types are not known yet): exact for F32 models,
    // at most kMaxPanelBytes too many for others.
    return kv + activations + copies + f32PanelBytes(c);
}

std::shared_ptr<const Model> Model::fromGguf(std::shared_ptr<const GgufFile> file)
{
    return fromGgufChecked(std::move(file), nullptr);
}

std::shared_ptr<const Model> Model::fromGgufChecked(std::shared_ptr<const GgufFile> file, const MemoryBudget* budget)
{
    const Loader loader(*file);
    const std::string arch = file->getString("general.architecture");
    if (arch != "llama" && arch != "qwen2" && arch != "qwen3")
        loader.fail("architecture '" + arch + "' is not supported (supported: " + kSupportedArchitectures + ")");

    auto model = std::shared_ptr<Model>(new Model());
    ModelConfig& c = model->m_config;
    c.architecture = arch;
    c.name = file->getString("general.name", "");
    const std::string p = arch + ".";
    c.dim = loader.hyper(p + "embedding_length", 1 << 16);
    c.layers = loader.hyper(p + "block_count", 1024);
    c.heads = loader.hyper(p + "attention.head_count", 1024);
    c.kvHeads = file->has(p + "attention.head_count_kv") ? loader.hyper(p + "attention.head_count_kv", 1024) : c.heads;
    c.hidden = loader.hyper(p + "feed_forward_length", 1 << 18);
    c.contextLength = file->has(p + "context_length") ? loader.hyper(p + "context_length", 1 << 24) : 2048;
    c.ropeBase = float(file->getFloat(p + "rope.freq_base", 10000.0));
    c.rmsEps = float(file->getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5));
    if (c.heads % c.kvHeads != 0)
        loader.fail("head_count " + std::to_string(c.heads) + " is not a multiple of head_count_kv "
            + std::to_string(c.kvHeads));
    // The head dimension: attention.key_length when present (Qwen3 0.6B: 16 heads of 128 over an
    // embedding of 1024), else embedding_length / head_count, as llama.cpp reads it.
    if (file->has(p + "attention.key_length")) {
        c.headDim = loader.hyper(p + "attention.key_length", 1 << 12);
        const uint64_t valueLength = file->getUInt(p + "attention.value_length", uint64_t(c.headDim));
        if (valueLength != uint64_t(c.headDim))
            loader.fail("attention.value_length " + std::to_string(valueLength) + " differs from key_length "
                + std::to_string(c.headDim) + ", which this engine does not support");
    } else {
        if (c.dim % c.heads != 0)
            loader.fail("embedding_length " + std::to_string(c.dim) + " is not a multiple of head_count "
                + std::to_string(c.heads));
        c.headDim = c.dim / c.heads;
    }
    // GGUF stores llama Q/K for interleaved RoPE pairs (convert_hf_to_gguf permutes them); qwen2 and
    // qwen3 keep Hugging Face's rotate-half layout, which ggml calls NeoX RoPE.
    c.ropeInterleaved = arch == "llama";
    c.qkNorm = arch == "qwen3";
    loadRope(loader, *file, p, c);

    if (!(c.ropeBase > 0.0f) || !std::isfinite(c.ropeBase) || !(c.rmsEps > 0.0f) || !std::isfinite(c.rmsEps))
        loader.fail("rope.freq_base and layer_norm_rms_epsilon must be positive and finite");

    if (budget) {
        const uint64_t working = workingBytes(c);
        requireMemory(file->path(), file->fileSize() + working,
            "the file mapped, " + formatBytes(file->fileSize()) + ", plus " + formatBytes(working)
                + " for the KV cache of " + std::to_string(std::min(c.contextLength, kDefaultContextCap))
                + " tokens and working buffers",
            *budget);
        if (copyWeightsIntoMemory(file->fileSize(), working, *budget))
            file->copyIntoAnonymousMemory();
        else
            file->populate();
    }

    try {
        model->m_tokenizer = std::make_unique<Tokenizer>(Vocabulary::fromGguf(*file));
    } catch (const ModelFileError&) {
        throw;
    } catch (const std::runtime_error& e) { // an unsupported tokenizer, say: still a problem of this file
        throw ModelFileError(file->path(), e.what());
    }
    c.vocab = model->m_tokenizer->size();

    const int64_t qDim = int64_t(c.heads) * c.headDim;
    const int64_t kvDim = int64_t(c.kvHeads) * c.headDim;
    model->m_tokenEmbd = loader.matrix("token_embd.weight", c.vocab, c.dim);
    model->m_layers.resize(size_t(c.layers));
    for (int l = 0; l < c.layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        LayerWeights& L = model->m_layers[size_t(l)];
        L.attnNorm = loader.vector(b + "attn_norm.weight", c.dim);
        L.wq = loader.matrix(b + "attn_q.weight", qDim, c.dim);
        L.wk = loader.matrix(b + "attn_k.weight", kvDim, c.dim);
        L.wv = loader.matrix(b + "attn_v.weight", kvDim, c.dim);
        if (arch == "qwen2") {
            L.qBias = loader.vector(b + "attn_q.bias", qDim);
            L.kBias = loader.vector(b + "attn_k.bias", kvDim);
            L.vBias = loader.vector(b + "attn_v.bias", kvDim);
        }
        if (c.qkNorm) {
            L.qNorm = loader.vector(b + "attn_q_norm.weight", c.headDim);
            L.kNorm = loader.vector(b + "attn_k_norm.weight", c.headDim);
        }
        L.wo = loader.matrix(b + "attn_output.weight", c.dim, qDim);
        L.ffnNorm = loader.vector(b + "ffn_norm.weight", c.dim);
        L.gate = loader.matrix(b + "ffn_gate.weight", c.hidden, c.dim);
        L.up = loader.matrix(b + "ffn_up.weight", c.hidden, c.dim);
        L.down = loader.matrix(b + "ffn_down.weight", c.dim, c.hidden);
    }
    model->m_outputNorm = loader.vector("output_norm.weight", c.dim);
    if (file->findTensor("output.weight")) {
        model->m_output = loader.matrix("output.weight", c.vocab, c.dim);
    } else {
        model->m_output = model->m_tokenEmbd;
        model->m_tied = true;
    }
    model->packPrefillPanels();
    model->packDecodeGroups();
    model->m_source = file->path();
    model->m_file = std::move(file);
    return model;
}

void Model::packPrefillPanels()
{
    // Prefill packs every block of weight rows into the float kernel's panels each time it multiplies it: about a
    // tenth of a 128-token prefill of the default model (perf, one thread). Small models keep packed copies of
    // their layer matrices instead, up to this many bytes; a larger model would double hundreds of MiB of weights
    // for the same share, and packs per call (kMaxPanelBytes). The output matrix is left out: prefill computes one row
    // of logits.
    const CpuKernels& kernels = cpuKernels();
    if (!kernels.packWeightPanels || !kernels.matmulWeightPanels)
        return;
    std::vector<WeightMatrix*> matrices;
    size_t floats = 0;
    for (LayerWeights& L : m_layers)
        for (WeightMatrix* w : L.matrices())
            if (w->type == GgmlType::F32) {
                matrices.push_back(w);
                floats += weightPanelFloats(w->rows, w->cols);
            }
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    if (matrices.empty() || bytes > kMaxPanelBytes)
        return;
    m_panels.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!m_panels)
        return; // no copies: prefill packs per call, as for larger models
    float* out = m_panels.get();
    for (WeightMatrix* w : matrices) {
        // Each matrix's panels start 64-byte aligned: weightPanelFloats is a multiple of 16 floats.
        kernels.packWeightPanels(reinterpret_cast<const float*>(w->data), w->cols, w->rows, w->cols, out);
        w->panels = out;
        out += weightPanelFloats(w->rows, w->cols);
    }
}

namespace {
// The grouped copies of Q4_0 matrices (packDecodeGroups) take at most this many bytes in all.
constexpr uint64_t kMaxDecodeGroupBytes = uint64_t(4) << 30;
} // namespace

void Model::packDecodeGroups()
{
    // Decode of Q4_0 on one core is bound by the vector work of unpacking the stored blocks, not by memory; the
    // grouped layout halves that work (q4groups.h, measured there). It costs a second copy of the Q4_0 matrices (the
    // stored rows stay, for prefill and the embedding), so it is bounded: kMaxDecodeGroupBytes, and half of what
    // MemoryBudget says is still available once the weights are in place. PLAYGROUND_Q4_GROUPS=0 turns it off.
    // A bad value is refused on every CPU, not only where the grouped kernel exists.
    if (!envSwitch("PLAYGROUND_Q4_GROUPS").value_or(true) || !cpuKernels().q4_0.dotQ8Groups)
        return;
    std::vector<WeightMatrix*> matrices;
    uint64_t bytes = 0;
    auto consider = [&](WeightMatrix& w) {
        if (w.type == GgmlType::Q4_0 && q4GroupsFit(w.cols)) {
            matrices.push_back(&w);
            bytes += (w.bytes() + 63) / 64 * 64;
        }
    };
    for (LayerWeights& L : m_layers)
        for (WeightMatrix* w : L.matrices())
            consider(*w);
    consider(m_output); // a copy of the embedding's entry when tied: the embedding lookups keep the stored rows
    if (matrices.empty() || bytes > kMaxDecodeGroupBytes)
        return;
    if (const uint64_t available = MemoryBudget::current().available; available != 0 && bytes > available / 2)
        return;
    // On 2 MiB pages, as the mapped weights are (MappedFile): decode streams the whole copy every token, and on 4 KiB
    // pages its TLB misses made 1-thread decode of the 1B Q4_0 file about 3 times slower than the stored layout's.
    constexpr uint64_t kHuge = uint64_t(2) << 20;
    const uint64_t allocated = (bytes + kHuge - 1) / kHuge * kHuge;
    m_decodeGroups.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, allocated)));
    if (!m_decodeGroups)
        return;
    adviseHugePages(m_decodeGroups.get(), allocated); // before the first write: faults take huge pages
    uint8_t* out = m_decodeGroups.get();
    for (WeightMatrix* w : matrices) {
        for (int64_t row = 0; row < w->rows; ++row)
            repackQ4_0Groups(w->row(row), out + uint64_t(row) * w->rowBytes, size_t(w->cols));
        w->decodeRows = out;
        out += (w->bytes() + 63) / 64 * 64;
    }
}

std::shared_ptr<const Model> Model::fromGgufBuffer(
    std::shared_ptr<const std::vector<uint8_t>> bytes, const std::string& name)
{
    auto file = std::make_shared<const GgufFile>(GgufFile::fromMemory(*bytes, name));
    auto model = std::const_pointer_cast<Model>(fromGguf(std::move(file)));
    model->m_buffer = std::move(bytes);
    return model;
}

void Model::requireFileUnchanged() const
{
    if (m_file && m_file->changedSinceOpened())
        throw ModelFileError(m_source,
            "the model file changed or shrank while in use (another program wrote to it); what it computed since "
            "is not trustworthy: reload it");
}

std::vector<std::string> Model::nonFiniteTensors() const
{
    std::vector<std::string> found;
    if (!m_file)
        return found;
    std::vector<float> row;
    for (const GgufTensorInfo& t : m_file->tensors()) {
        if (!ggmlTypeIsSupported(t.type) || t.dims.empty() || t.dims[0] == 0)
            continue;
        const uint64_t cols = t.dims[0];
        const uint64_t rows = t.elementCount() / cols;
        const uint64_t rowBytes = ggmlRowBytes(t.type, cols);
        const TypeKernels& k = typeKernels(t.type);
        row.resize(size_t(cols));
        for (uint64_t r = 0; r < rows; ++r) {
            k.dequantizeRow(t.data + r * rowBytes, row.data(), size_t(cols));
            // One pass without a branch per element: a NaN or Inf anywhere makes the sum x * 0 NaN.
            float probe = 0.0f;
            for (float v : row)
                probe += v * 0.0f;
            if (probe == 0.0f)
                continue;
            found.push_back("'" + t.name + "' (row " + std::to_string(r) + ")");
            break;
        }
    }
    return found;
}

const char* ropeScalingName(RopeScaling s)
{
    switch (s) {
    case RopeScaling::None:
        return "none";
    case RopeScaling::Linear:
        return "linear";
    case RopeScaling::Yarn:
        return "yarn";
    }
    return "?";
}

void computeRopeTable(const ModelConfig& c, int positions, std::vector<float>& cosTable, std::vector<float>& sinTable)
{
    // ggml_rope_cache_init and rope_yarn (ggml-cpu ops.cpp), in double: theta_extrap = pos *
    // base^(-2i/n_rot) / freq_factor[i]; theta_interp = freq_scale * theta_extrap; YaRN mixes them by a
    // ramp over the pairs between the correction dims and scales the magnitude by 1 + 0.1 ln(1/freq_scale).
    const int pairs = c.ropeDims / 2;
    const double freqScale = c.ropeFreqScale();
    const double extFactor = c.yarnExtFactor;
    double mscale = c.ropeAttnFactor;
    if (extFactor != 0.0)
        mscale *= 1.0 + 0.1 * std::log(1.0 / freqScale);
    // ggml_rope_yarn_corr_dims: the pairs whose wavelength fits beta_fast (low) and beta_slow (high)
    // rotations into the original context, floored/ceiled and clamped to [0, n_rot - 1].
    auto corrDim = [&](double rotations) {
        return c.ropeDims * std::log(double(c.ropeOriginalContext) / (rotations * 2.0 * std::numbers::pi))
            / (2.0 * std::log(double(c.ropeBase)));
    };
    const double low = std::max(0.0, std::floor(corrDim(c.yarnBetaFast)));
    const double high = std::min(double(c.ropeDims - 1), std::ceil(corrDim(c.yarnBetaSlow)));
    std::vector<double> freq(static_cast<size_t>(pairs)), mix(static_cast<size_t>(pairs));
    for (int i = 0; i < pairs; ++i) {
        const double factor = c.ropeFreqFactors.empty() ? 1.0 : double(c.ropeFreqFactors[size_t(i)]);
        freq[size_t(i)] = std::pow(double(c.ropeBase), -2.0 * i / c.ropeDims) / factor;
        // rope_yarn_ramp(low, high, i0) with i0 = 2i: 1 below low, 0 above high.
        const double y = (double(i) - low) / std::max(0.001, high - low);
        mix[size_t(i)] = (1.0 - std::clamp(y, 0.0, 1.0)) * extFactor;
    }
    cosTable.resize(size_t(positions) * size_t(pairs));
    sinTable.resize(size_t(positions) * size_t(pairs));
    for (int pos = 0; pos < positions; ++pos) {
        for (int i = 0; i < pairs; ++i) {
            const double extrap = double(pos) * freq[size_t(i)];
            const double interp = freqScale * extrap;
            const double theta = interp * (1.0 - mix[size_t(i)]) + extrap * mix[size_t(i)];
            cosTable[size_t(pos) * pairs + size_t(i)] = float(std::cos(theta) * mscale);
            sinTable[size_t(pos) * pairs + size_t(i)] = float(std::sin(theta) * mscale);
        }
    }
}

uint64_t Model::parameterCount() const
{
    const ModelConfig& c = m_config;
    uint64_t n = uint64_t(m_tokenEmbd.rows) * uint64_t(m_tokenEmbd.cols) + uint64_t(c.dim);
    for (const LayerWeights& L : m_layers) {
        for (const WeightMatrix* m : L.matrices())
            n += uint64_t(m->rows) * uint64_t(m->cols);
        n += L.attnNorm.size() + L.ffnNorm.size() + L.qBias.size() + L.kBias.size() + L.vBias.size() + L.qNorm.size()
            + L.kNorm.size();
    }
    if (!m_tied)
        n += uint64_t(m_output.rows) * uint64_t(m_output.cols);
    return n;
}

uint64_t Model::weightBytesPerToken() const
{
    uint64_t n = m_tokenEmbd.rowBytes;
    for (const WeightMatrix* m : decodeMatrices())
        n += m->bytes();
    return n;
}

std::vector<const WeightMatrix*> Model::decodeMatrices() const
{
    std::vector<const WeightMatrix*> list;
    for (const LayerWeights& L : m_layers)
        for (const WeightMatrix* m : L.matrices())
            list.push_back(m);
    list.push_back(&m_output);
    return list;
}

uint64_t Model::weightBytes() const
{
    uint64_t n = m_tokenEmbd.bytes() + (m_tied ? 0 : m_output.bytes());
    for (const LayerWeights& L : m_layers)
        for (const WeightMatrix* m : L.matrices())
            n += m->bytes();
    return n;
}

std::string Model::typeSummary() const
{
    std::string s = ggmlTypeName(m_layers.empty() ? m_tokenEmbd.type : m_layers[0].wq.type);
    if (m_output.type != (m_layers.empty() ? m_tokenEmbd.type : m_layers[0].wq.type))
        s += std::string(", output ") + ggmlTypeName(m_output.type);
    return s;
}

} // namespace engine
