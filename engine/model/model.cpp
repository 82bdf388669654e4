#include "engine/model/model.h"

#include "engine/format/gguffile.h"
#include "engine/kernels/typekernels.h"

#include <cmath>
#include <sstream>

namespace engine {

namespace {

constexpr const char* kSupportedArchitectures = "llama, qwen2";

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

} // namespace

std::shared_ptr<const Model> Model::load(const std::string& path)
{
    return fromGguf(std::make_shared<const GgufFile>(GgufFile::open(path)));
}

std::shared_ptr<const Model> Model::fromGguf(std::shared_ptr<const GgufFile> file)
{
    const Loader loader(*file);
    const std::string arch = file->getString("general.architecture");
    if (arch != "llama" && arch != "qwen2")
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
    if (c.dim % c.heads != 0)
        loader.fail("embedding_length " + std::to_string(c.dim) + " is not a multiple of head_count "
            + std::to_string(c.heads));
    if (c.heads % c.kvHeads != 0)
        loader.fail("head_count " + std::to_string(c.heads) + " is not a multiple of head_count_kv "
            + std::to_string(c.kvHeads));
    c.headDim = c.dim / c.heads;
    // GGUF stores llama Q/K for interleaved RoPE pairs (convert_hf_to_gguf permutes them); qwen2
    // keeps Hugging Face's rotate-half layout, which ggml calls NeoX RoPE.
    c.ropeInterleaved = arch == "llama";
    if (c.headDim % 2 != 0)
        loader.fail("head dimension " + std::to_string(c.headDim) + " is odd; RoPE needs pairs");
    const uint64_t ropeDims = file->getUInt(p + "rope.dimension_count", uint64_t(c.headDim));
    if (ropeDims != uint64_t(c.headDim))
        loader.fail("partial RoPE (rope.dimension_count " + std::to_string(ropeDims) + " < head dimension "
            + std::to_string(c.headDim) + ") is not supported");
    if (!(c.ropeBase > 0.0f) || !std::isfinite(c.ropeBase) || !(c.rmsEps > 0.0f) || !std::isfinite(c.rmsEps))
        loader.fail("rope.freq_base and layer_norm_rms_epsilon must be positive and finite");

    model->m_tokenizer = std::make_unique<Tokenizer>(Vocabulary::fromGguf(*file));
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
    model->m_source = file->path();
    model->m_file = std::move(file);
    return model;
}

std::shared_ptr<const Model> Model::fromGgufBuffer(
    std::shared_ptr<const std::vector<uint8_t>> bytes, const std::string& name)
{
    auto file = std::make_shared<const GgufFile>(GgufFile::fromMemory(*bytes, name));
    auto model = std::const_pointer_cast<Model>(fromGguf(std::move(file)));
    model->m_buffer = std::move(bytes);
    return model;
}

uint64_t Model::parameterCount() const
{
    const ModelConfig& c = m_config;
    uint64_t n = uint64_t(m_tokenEmbd.rows) * uint64_t(m_tokenEmbd.cols) + uint64_t(c.dim);
    for (const LayerWeights& L : m_layers) {
        for (const WeightMatrix* m : L.matrices())
            n += uint64_t(m->rows) * uint64_t(m->cols);
        n += L.attnNorm.size() + L.ffnNorm.size() + L.qBias.size() + L.kBias.size() + L.vBias.size();
    }
    if (!m_tied)
        n += uint64_t(m_output.rows) * uint64_t(m_output.cols);
    return n;
}

uint64_t Model::weightBytesPerToken() const
{
    uint64_t n = m_tokenEmbd.rowBytes + m_output.bytes();
    for (const LayerWeights& L : m_layers)
        for (const WeightMatrix* m : L.matrices())
            n += m->bytes();
    return n;
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
