#include "engine/kernels/quantplan.h"

#include "engine/format/gguffile.h"

#include <algorithm>
#include <numeric>

namespace engine {

namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "blk.<i>.<rest>" -> i, or -1 (sscanf(name, "blk.%d.") in llama.cpp's weight_name_comparer).
int layerOf(const std::string& name)
{
    if (name.rfind("blk.", 0) != 0)
        return -1;
    int i = 0;
    size_t k = 4;
    for (; k < name.size() && name[k] >= '0' && name[k] <= '9'; ++k)
        i = std::min(i * 10 + (name[k] - '0'), 1 << 24); // no overflow on a hostile name
    return k > 4 && k < name.size() && name[k] == '.' ? i : -1;
}

// ggml_n_dims: the number of dimensions without trailing ones.
size_t significantDims(const std::vector<uint64_t>& dims)
{
    size_t n = dims.size();
    while (n > 1 && dims[n - 1] == 1)
        --n;
    return n;
}

// llama.cpp's tensor_allows_quantization, the parts that concern llama-family names.
bool allowsQuantization(const TensorDescription& t, std::string& why)
{
    if (significantDims(t.dims) < 2) {
        why = "1-D: kept";
        return false;
    }
    if (!endsWith(t.name, "weight") || contains(t.name, "_norm.weight")) {
        why = "not a weight matrix: kept";
        return false;
    }
    if (contains(t.name, "ffn_gate_inp.weight") || t.name == "position_embd.weight" || t.name == "token_types.weight") {
        why = "kept, as llama.cpp keeps it";
        return false;
    }
    return true;
}

// use_more_bits in llama_tensor_get_type_impl: the first and last eighth of the layers and every
// third layer in between.
bool useMoreBits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

bool isKMix(GgmlType target) { return target == GgmlType::Q4_K || target == GgmlType::Q5_K; }

std::string mixName(GgmlType target) { return std::string(ggmlTypeName(target)) + (isKMix(target) ? "_M" : ""); }

std::string rowNote(uint64_t cols, uint32_t block)
{
    return "row of " + std::to_string(cols) + " not a multiple of " + std::to_string(block);
}

// tensor_type_fallback: a row that is not a whole number of the type's blocks.
GgmlType fallBack(GgmlType type, uint64_t cols, std::string& note)
{
    if (cols % ggmlBlockSize(type) == 0)
        return type;
    GgmlType fallback = GgmlType::F16;
    switch (type) {
    case GgmlType::Q4_K:
        fallback = GgmlType::Q5_0;
        break;
    case GgmlType::Q5_K:
        fallback = GgmlType::Q5_0; // llama.cpp: Q5_1, which the engine cannot compute
        break;
    case GgmlType::Q6_K:
        fallback = GgmlType::Q8_0;
        break;
    default:
        break; // llama.cpp has no fallback for 32-element blocks and refuses the model
    }
    if (cols % ggmlBlockSize(fallback) != 0)
        fallback = GgmlType::F16; // llama.cpp: "must use F16 due to unusual shape"
    if (!note.empty())
        note += "; ";
    note += rowNote(cols, ggmlBlockSize(type)) + ": " + ggmlTypeName(fallback) + " instead of " + ggmlTypeName(type);
    if (type == GgmlType::Q5_K && fallback == GgmlType::Q5_0)
        note += " (llama.cpp: Q5_1)";
    return fallback;
}

// llama_tensor_get_type_impl for the block-type targets offered, then tensor_type_fallback.
GgmlType blockType(GgmlType target, const TensorDescription& t, const QuantizeModelInfo& model, std::string& note)
{
    const uint64_t cols = t.dims[0];
    const TensorCategory category = tensorCategory(t.name);
    GgmlType type = target;
    if (category == TensorCategory::Output || (model.tiedEmbeddings && category == TensorCategory::TokenEmbd)) {
        const std::string what = category == TensorCategory::Output ? "output" : "tied token_embd (the output)";
        if (cols % ggmlBlockSize(target) != 0) {
            type = GgmlType::Q8_0;
            note = what + ": " + rowNote(cols, ggmlBlockSize(target)) + ": Q8_0";
        } else if (target != GgmlType::Q8_0) {
            type = GgmlType::Q6_K;
            note = what + ": Q6_K";
        }
    } else if (category == TensorCategory::AttnV) {
        if (isKMix(target) && useMoreBits(t.ordinal, model.attnVCount)) {
            type = GgmlType::Q6_K;
            note = mixName(target) + ": Q6_K for attn_v " + std::to_string(t.ordinal) + " of "
                + std::to_string(model.attnVCount);
        }
        if (model.is70B() && type == GgmlType::Q4_K) {
            type = GgmlType::Q5_K;
            note = "70B attn_v: Q5_K";
        }
    } else if (category == TensorCategory::FfnDown) {
        if (isKMix(target) && useMoreBits(t.ordinal, model.layers)) {
            type = GgmlType::Q6_K;
            note = mixName(target) + ": Q6_K for ffn_down " + std::to_string(t.ordinal) + " of "
                + std::to_string(model.layers);
        }
    }
    return fallBack(type, cols, note);
}

} // namespace

TensorCategory tensorCategory(const std::string& name)
{
    if (name == "output.weight")
        return TensorCategory::Output;
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight")
        return TensorCategory::TokenEmbd;
    if (contains(name, "attn_qkv.weight") || contains(name, "attn_kv_b.weight") || contains(name, "attn_v.weight"))
        return TensorCategory::AttnV;
    if (contains(name, "attn_k.weight"))
        return TensorCategory::AttnK;
    if (contains(name, "attn_q.weight"))
        return TensorCategory::AttnQ;
    if (contains(name, "attn_output.weight"))
        return TensorCategory::AttnOutput;
    if (contains(name, "ffn_up"))
        return TensorCategory::FfnUp;
    if (contains(name, "ffn_gate"))
        return TensorCategory::FfnGate;
    if (contains(name, "ffn_down"))
        return TensorCategory::FfnDown;
    return TensorCategory::Other;
}

bool QuantizeModelInfo::is70B() const
{
    if (layers != 80)
        return false;
    if (architecture == "llama")
        return heads != kvHeads;
    return architecture == "qwen2";
}

QuantizeModelInfo QuantizeModelInfo::fromGguf(const GgufFile& file)
{
    QuantizeModelInfo m;
    m.architecture = file.getString("general.architecture", "llama");
    const std::string p = m.architecture + ".";
    auto count = [&](const std::string& key, int fallback) {
        const GgufValue* v = file.find(key);
        return v && v->isInteger() ? int(v->asUInt()) : fallback; // per-layer arrays: unknown
    };
    int ffnDowns = 0;
    for (const auto& t : file.tensors()) {
        const TensorCategory c = tensorCategory(t.name);
        m.attnVCount += c == TensorCategory::AttnV;
        ffnDowns += c == TensorCategory::FfnDown;
    }
    m.layers = count(p + "block_count", ffnDowns);
    m.heads = count(p + "attention.head_count", 0);
    m.kvHeads = count(p + "attention.head_count_kv", m.heads);
    m.tiedEmbeddings = file.findTensor("output.weight") == nullptr;
    return m;
}

TensorTypeChoice chooseTensorType(GgmlType target, const TensorDescription& t, const QuantizeModelInfo& model)
{
    TensorTypeChoice c;
    c.type = t.type;
    if (!allowsQuantization(t, c.note))
        return c;
    // F32, F16, BF16: llama.cpp applies neither the mixes nor the fallbacks to a plain type.
    const GgmlType type = ggmlBlockSize(target) > 1 ? blockType(target, t, model, c.note) : target;
    if (type != t.type && !ggmlTypeIsSupported(t.type)) {
        c.note = std::string("no kernels to read ") + ggmlTypeName(t.type) + ": kept";
        return c;
    }
    c.type = type;
    return c;
}

std::vector<TensorTypeChoice> planQuantization(
    GgmlType target, std::vector<TensorDescription> tensors, QuantizeModelInfo model)
{
    // llama.cpp visits tensors sorted by layer (non-layer tensors first), then by name
    // (weight_name_comparer), counting attn_v and ffn_down tensors as it goes.
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = layerOf(tensors[a].name);
        const int lb = layerOf(tensors[b].name);
        return la != lb ? la < lb : tensors[a].name < tensors[b].name;
    });
    model.attnVCount = 0;
    model.tiedEmbeddings = true;
    int ffnDowns = 0;
    for (size_t i : order) {
        const TensorCategory c = tensorCategory(tensors[i].name);
        if (c == TensorCategory::AttnV)
            tensors[i].ordinal = model.attnVCount++;
        else if (c == TensorCategory::FfnDown)
            tensors[i].ordinal = ffnDowns++;
        else if (c == TensorCategory::Output)
            model.tiedEmbeddings = false;
    }
    if (model.layers <= 0)
        model.layers = ffnDowns;
    std::vector<TensorTypeChoice> plan;
    plan.reserve(tensors.size());
    for (const auto& t : tensors)
        plan.push_back(chooseTensorType(target, t, model));
    return plan;
}

std::vector<TensorDescription> describeTensors(const GgufFile& file)
{
    std::vector<TensorDescription> out;
    out.reserve(file.tensors().size());
    for (const auto& t : file.tensors())
        out.push_back({ t.name, t.dims, t.type, 0 });
    return out;
}

} // namespace engine
