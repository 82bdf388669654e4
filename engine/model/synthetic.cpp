#include "engine/model/synthetic.h"

#include "engine/format/ggufwriter.h"
#include "engine/format/mappedfile.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/text/vocabulary.h"

#include <oneapi/tbb/parallel_for.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>
#include <stdexcept>

namespace engine {

const std::vector<SyntheticShape>& syntheticShapes()
{
    static const std::vector<SyntheticShape> shapes = {
        { "tiny", 128, 4, 4, 2, 384, 512, 512, GgmlType::F32, false,
            "~1M parameters, 512-token vocabulary: so small that threads cost more than they save" },
        { "15M", 288, 6, 6, 6, 768, 32000, 256, GgmlType::F32, false, "llama2.c stories15M shape" },
        { "110M", 768, 12, 12, 12, 2048, 32000, 1024, GgmlType::F32, false,
            "llama2.c stories110M shape, 512 MiB F32: decode meets the memory wall" },
        { "1B", 2048, 22, 32, 4, 5632, 32000, 2048, GgmlType::F16, false,
            "TinyLlama 1.1B shape in F16 (2.2 GB), grouped-query attention" },
    };
    return shapes;
}

const SyntheticShape& syntheticShape(const std::string& name)
{
    std::string known;
    for (const auto& s : syntheticShapes()) {
        if (s.name == name)
            return s;
        known += (known.empty() ? "" : ", ") + s.name;
    }
    throw std::invalid_argument("unknown synthetic shape '" + name + "' (known: " + known + ")");
}

uint64_t availableMemoryBytes()
{
    std::ifstream in("/proc/meminfo");
    std::string key;
    uint64_t value = 0;
    std::string unit;
    while (in >> key >> value >> unit)
        if (key == "MemAvailable:")
            return value * 1024;
    return 0;
}

namespace {

// A synthetic SentencePiece-style vocabulary: <unk> <s> </s>, the 256 byte tokens, then printable
// characters, "▁x", letter pairs and triples (with and without "▁") until the size is reached.
// Every prompt tokenises (bytes cover everything) and common text merges into longer pieces.
Vocabulary syntheticVocabulary(int size)
{
    Vocabulary v;
    v.model = "llama";
    auto add = [&](std::string piece, TokenType type) {
        if (int(v.tokens.size()) >= size)
            return;
        v.scores.push_back(-float(v.tokens.size()));
        v.tokens.push_back(std::move(piece));
        v.types.push_back(type);
    };
    add("<unk>", TokenType::Unknown);
    add("<s>", TokenType::Control);
    add("</s>", TokenType::Control);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        add(buf, TokenType::Byte);
    }
    const std::string space = "\xe2\x96\x81"; // U+2581
    add(space, TokenType::Normal);
    for (char ch = 33; ch < 127; ++ch)
        add(std::string(1, ch), TokenType::Normal);
    const std::string letters = "etaoinshrdlcumwfgypbvkjxqz";
    for (char a : letters)
        add(space + a, TokenType::Normal);
    for (char a : letters)
        for (char b : letters)
            add(std::string { a, b }, TokenType::Normal);
    for (char a : letters)
        for (char b : letters)
            add(space + a + b, TokenType::Normal);
    for (char a : letters)
        for (char b : letters)
            for (char c : letters) {
                add(std::string { a, b, c }, TokenType::Normal);
                add(space + a + b + c, TokenType::Normal);
            }
    if (int(v.tokens.size()) < size)
        throw std::invalid_argument("synthetic vocabulary cannot exceed " + std::to_string(v.tokens.size()));
    v.unkId = 0;
    v.bosId = 1;
    v.eosId = 2;
    return v;
}

// splitmix64: a small, fast, well-mixed generator; one stream per tensor so tensors can be filled in parallel.
struct SplitMix {
    uint64_t state;
    uint64_t next()
    {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // uniform in [-1, 1)
    float uniform() { return float(int64_t(next() >> 11) - (int64_t(1) << 52)) * 0x1.0p-52f; }
};

std::vector<uint8_t> randomMatrix(GgmlType type, uint64_t rows, uint64_t cols, uint64_t seed)
{
    // Uniform with variance 1/cols keeps activations O(1) through every matmul.
    const float scale = std::sqrt(3.0f / float(cols));
    const uint64_t n = rows * cols;
    const bool plain = type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16;
    if (!plain && !isQuantizeTarget(type))
        throw std::invalid_argument("synthetic weights cannot be made in type " + std::string(ggmlTypeName(type)));
    std::vector<uint8_t> bytes(ggmlRowBytes(type, cols) * rows);
    // Block types: the F32 values first (the same for every type and seed), then quantised row by row, so a
    // quantised synthetic model is its F32 twin as llama-quantize would store it.
    std::vector<float> values(plain ? 0 : n);
    constexpr uint64_t kChunk = 1 << 16;
    tbb::parallel_for(uint64_t(0), (n + kChunk - 1) / kChunk, [&](uint64_t c) {
        SplitMix rng { seed * 0x100000001b3ull + c };
        const uint64_t end = std::min(n, (c + 1) * kChunk);
        for (uint64_t i = c * kChunk; i < end; ++i) {
            const float w = rng.uniform() * scale;
            if (type == GgmlType::F32)
                std::memcpy(bytes.data() + i * 4, &w, 4);
            else if (type == GgmlType::F16) {
                const uint16_t h = f32ToF16(w);
                std::memcpy(bytes.data() + i * 2, &h, 2);
            } else if (type == GgmlType::BF16) {
                const uint16_t h = f32ToBf16(w);
                std::memcpy(bytes.data() + i * 2, &h, 2);
            } else {
                values[i] = w;
            }
        }
    });
    if (!plain) {
        const uint64_t rowBytes = ggmlRowBytes(type, cols);
        tbb::parallel_for(uint64_t(0), rows,
            [&](uint64_t r) { quantizeRow(type, values.data() + r * cols, bytes.data() + r * rowBytes, cols); });
    }
    return bytes;
}

} // namespace

std::vector<uint8_t> syntheticModelGguf(const SyntheticShape& s, uint64_t seed)
{
    GgufWriter w;
    const std::string arch = s.architecture;
    const std::string p = arch + ".";
    w.setString("general.architecture", arch);
    w.setString("general.name", "synthetic-" + s.name);
    w.setString("general.description", s.description);
    w.setUInt32("general.file_type", llamaFileType(s.type));
    w.setUInt32(p + "context_length", uint32_t(s.contextLength));
    w.setUInt32(p + "embedding_length", uint32_t(s.dim));
    w.setUInt32(p + "block_count", uint32_t(s.layers));
    w.setUInt32(p + "feed_forward_length", uint32_t(s.hidden));
    w.setUInt32(p + "attention.head_count", uint32_t(s.heads));
    w.setUInt32(p + "attention.head_count_kv", uint32_t(s.kvHeads));
    const bool qwen = arch == "qwen2" || arch == "qwen3";
    const int headDim = s.headDim > 0 ? s.headDim : s.dim / s.heads;
    if (s.headDim > 0) {
        w.setUInt32(p + "attention.key_length", uint32_t(headDim));
        w.setUInt32(p + "attention.value_length", uint32_t(headDim));
    }
    const int ropeDims = s.ropeDims > 0 ? s.ropeDims : headDim;
    const float ropeBase = s.ropeBase > 0.0f ? s.ropeBase : (qwen ? 1000000.0f : 10000.0f);
    w.setUInt32(p + "rope.dimension_count", uint32_t(ropeDims));
    w.setFloat32(p + "rope.freq_base", ropeBase);
    w.setFloat32(p + "attention.layer_norm_rms_epsilon", qwen ? 1e-6f : 1e-5f);
    if (!s.ropeScaling.empty())
        w.setString(p + "rope.scaling.type", s.ropeScaling);
    if (s.ropeScaleFactor != 0.0f)
        w.setFloat32(p + "rope.scaling.factor", s.ropeScaleFactor);
    if (!s.ropeScaling.empty() && s.ropeOriginalContext > 0)
        w.setUInt32(p + "rope.scaling.original_context_length", uint32_t(s.ropeOriginalContext));
    w.setUInt32(p + "vocab_size", uint32_t(s.vocab));

    const Vocabulary v = syntheticVocabulary(s.vocab);
    w.setString("tokenizer.ggml.model", v.model);
    w.setStringArray("tokenizer.ggml.tokens", v.tokens);
    w.setFloat32Array("tokenizer.ggml.scores", v.scores);
    std::vector<int32_t> types;
    for (TokenType t : v.types)
        types.push_back(int32_t(t));
    w.setInt32Array("tokenizer.ggml.token_type", types);
    w.setUInt32("tokenizer.ggml.bos_token_id", uint32_t(v.bosId));
    w.setUInt32("tokenizer.ggml.eos_token_id", uint32_t(v.eosId));
    w.setUInt32("tokenizer.ggml.unknown_token_id", uint32_t(v.unkId));
    w.setBool("tokenizer.ggml.add_bos_token", true);
    w.setBool("tokenizer.ggml.add_space_prefix", true);
    if (!s.chatTemplate.empty())
        w.setString("tokenizer.chat_template", s.chatTemplate);

    const uint64_t dim = uint64_t(s.dim), hd = uint64_t(headDim), kvDim = hd * uint64_t(s.kvHeads);
    const uint64_t qDim = hd * uint64_t(s.heads);
    uint64_t tensorSeed = seed;
    auto matrix = [&](const std::string& name, uint64_t rows, uint64_t cols) {
        w.addTensor(name, s.type, { cols, rows }, randomMatrix(s.type, rows, cols, ++tensorSeed));
    };
    auto ones = [&](const std::string& name, uint64_t n) {
        const std::vector<float> v(n, 1.0f);
        w.addTensorF32(name, { n }, v);
    };
    auto bias = [&](const std::string& name, uint64_t n) {
        SplitMix rng { ++tensorSeed };
        std::vector<float> v(n);
        for (float& x : v)
            x = 0.5f * rng.uniform();
        w.addTensorF32(name, { n }, v);
    };
    if (s.llama3RopeFreqs) {
        const std::vector<float> factors = llama3RopeFreqFactors(
            ropeDims, ropeBase, 8.0, 1.0, 4.0, s.ropeOriginalContext > 0 ? s.ropeOriginalContext : 8192);
        w.addTensorF32("rope_freqs.weight", { uint64_t(ropeDims / 2) }, factors);
    }
    auto normWeights = [&](const std::string& name, uint64_t n) {
        SplitMix rng { ++tensorSeed };
        std::vector<float> v(n);
        // 1 + k / 2^24 for an integer |k| <= 2^22, so in [0.75, 1.25): the product is exact, so the sum rounds once
        // whether or not the compiler fuses it into an FMA (-O3 did, -O1 did not, and the files differed).
        for (float& x : v)
            x = 1.0f + float(int32_t(rng.next() >> 41) - (int32_t(1) << 22)) * 0x1.0p-24f;
        w.addTensorF32(name, { n }, v);
    };
    matrix("token_embd.weight", uint64_t(s.vocab), dim);
    for (int l = 0; l < s.layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        ones(b + "attn_norm.weight", dim);
        matrix(b + "attn_q.weight", qDim, dim);
        matrix(b + "attn_k.weight", kvDim, dim);
        matrix(b + "attn_v.weight", kvDim, dim);
        if (arch == "qwen2") {
            bias(b + "attn_q.bias", dim);
            bias(b + "attn_k.bias", kvDim);
            bias(b + "attn_v.bias", kvDim);
        }
        if (arch == "qwen3") {
            normWeights(b + "attn_q_norm.weight", hd);
            normWeights(b + "attn_k_norm.weight", hd);
        }
        matrix(b + "attn_output.weight", dim, qDim);
        ones(b + "ffn_norm.weight", dim);
        matrix(b + "ffn_gate.weight", uint64_t(s.hidden), dim);
        matrix(b + "ffn_up.weight", uint64_t(s.hidden), dim);
        matrix(b + "ffn_down.weight", dim, uint64_t(s.hidden));
    }
    ones("output_norm.weight", dim);
    if (!s.tied)
        matrix("output.weight", uint64_t(s.vocab), dim);
    return w.toBytes();
}

void writeSyntheticModel(const SyntheticShape& shape, const std::string& path, uint64_t seed)
{
    const std::vector<uint8_t> bytes = syntheticModelGguf(shape, seed);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    out.close();
    if (!out)
        throw std::runtime_error("cannot write the synthetic model to '" + path + "'");
}

std::vector<float> llama3RopeFreqFactors(
    int ropeDims, double base, double factor, double lowFreqFactor, double highFreqFactor, double originalContext)
{
    const double lowFreqWavelen = originalContext / lowFreqFactor;
    const double highFreqWavelen = originalContext / highFreqFactor;
    std::vector<float> factors;
    for (int i = 0; i < ropeDims; i += 2) {
        const double freq = 1.0 / std::pow(base, double(i) / ropeDims);
        const double wavelen = 2.0 * std::numbers::pi / freq;
        if (wavelen < highFreqWavelen) {
            factors.push_back(1.0f);
        } else if (wavelen > lowFreqWavelen) {
            factors.push_back(float(factor));
        } else {
            const double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            factors.push_back(float(1.0 / ((1.0 - smooth) / factor + smooth)));
        }
    }
    return factors;
}

std::shared_ptr<const Model> makeSyntheticModel(const SyntheticShape& s, uint64_t seed)
{
    const uint64_t hd = uint64_t(s.dim / s.heads);
    const uint64_t perLayer = 2 * uint64_t(s.dim) * uint64_t(s.dim) + 2 * uint64_t(s.dim) * hd * uint64_t(s.kvHeads)
        + 3 * uint64_t(s.dim) * uint64_t(s.hidden);
    const uint64_t params = perLayer * uint64_t(s.layers) + uint64_t(s.vocab) * uint64_t(s.dim) * (s.tied ? 1 : 2);
    const uint64_t bytes = params * ggmlRowBytes(s.type, 256) / 256;
    // Building goes through a writer and a copy: twice the weights at the peak, plus headroom.
    const uint64_t needed = bytes * 2 + (uint64_t(512) << 20);
    const uint64_t available = availableMemoryBytes();
    if (available != 0 && needed > available)
        throw std::runtime_error("synthetic shape '" + s.name + "' needs about " + std::to_string(needed >> 20)
            + " MiB of memory to build, but only " + std::to_string(available >> 20) + " MiB are available");
    auto buffer = std::make_shared<std::vector<uint8_t>>(syntheticModelGguf(s, seed));
    adviseHugePages(buffer->data(), buffer->size());
    return Model::fromGgufBuffer(std::move(buffer), "synthetic:" + s.name);
}

std::shared_ptr<const Model> makeSyntheticModel(const std::string& shapeName, uint64_t seed)
{
    return makeSyntheticModel(syntheticShape(shapeName), seed);
}

} // namespace engine
