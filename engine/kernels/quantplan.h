// The type each tensor gets when a model is quantised: llama-quantize's choice (llama.cpp's
// llama_tensor_get_type, without an importance matrix or overrides) for llama-family models, as a pure
// function of names, shapes and a few hyper-parameters, so it can be tested without writing files.
// Usage: planQuantization(GgmlType::Q4_K, tensorsOf(file), QuantizeModelInfo::fromGguf(file)).
#pragma once

#include "engine/format/ggmltype.h"

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

class GgufFile;

// llama.cpp's tensor categories (tensor_get_category in llama-quant.cpp), told from the name.
enum class TensorCategory {
    TokenEmbd, // token_embd.weight
    Output, // output.weight
    AttnQ,
    AttnK,
    AttnV, // attn_v.weight, and the fused attn_qkv / attn_kv_b that llama.cpp treats alike
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Other, // norms, biases, rope_freqs, anything else
};
TensorCategory tensorCategory(const std::string& name);

// What llama-quantize knows about the model when it picks types.
struct QuantizeModelInfo {
    std::string architecture = "llama"; // general.architecture
    int layers = 0; // <arch>.block_count: the n of ffn_down's use_more_bits
    int heads = 0; // <arch>.attention.head_count
    int kvHeads = 0; // <arch>.attention.head_count_kv (= heads when absent)
    int attnVCount = 0; // attn_v tensors in the file: the n of attn_v's use_more_bits
    bool tiedEmbeddings = false; // no output.weight: token_embd is the output matrix too

    // llama.cpp's LLM_TYPE_70B: llama with 80 layers and grouped-query attention, or qwen2 with 80 layers.
    bool is70B() const;
    // Hyper-parameters from the metadata; attnVCount and tiedEmbeddings from the tensor list.
    static QuantizeModelInfo fromGguf(const GgufFile& file);
};

// One tensor as the choice sees it.
struct TensorDescription {
    std::string name;
    std::vector<uint64_t> dims; // GGUF order: dims[0] is the row length
    GgmlType type = GgmlType::F32; // as stored
    // How many tensors of the same category come before this one in llama.cpp's order (by layer, then
    // by name): for attn_v and ffn_down of a dense model, the layer number.
    int ordinal = 0;
};

struct TensorTypeChoice {
    GgmlType type = GgmlType::F32;
    std::string note; // why the type is not the target ("1-D: kept", "output: Q6_K", "row of 384 ...")
};

// The type llama-quantize writes for one tensor when quantising to `target` (Q8_0, Q4_0, Q5_0, Q6_K;
// Q4_K meaning Q4_K_M and Q5_K meaning Q5_K_M; or F16, BF16, F32, which only the first rule below and
// the last concern: every other matrix simply becomes the target):
//   - kept as stored: tensors with fewer than 2 dimensions (norms, biases, rope_freqs, qwen3's
//     attn_q_norm / attn_k_norm), names not ending in "weight" or containing "_norm.weight";
//   - output.weight, and token_embd.weight when the embeddings are tied (no output.weight): Q8_0 if its
//     rows are not a whole number of the target's blocks, else Q6_K, except that a Q8_0 target keeps Q8_0;
//   - Q4_K_M / Q5_K_M: attn_v (the i-th of n) and ffn_down (layer i of n) become Q6_K where
//     use_more_bits(i, n): i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2; in a 70B model (is70B) an attn_v
//     that would be Q4_K becomes Q5_K;
//   - everything else that is quantised becomes the target (GQA changes nothing for these targets; it
//     matters only to llama.cpp's Q2_K, Q3_K, IQ3 and IQ4 mixes, which this engine does not offer);
//   - a row length that is not a multiple of the chosen type's block falls back: Q4_K -> Q5_0,
//     Q6_K -> Q8_0, Q5_K -> Q5_0 (llama.cpp: Q5_1, a type the engine cannot compute), and F16 when the
//     fallback does not fit either or the type is a 32-block one (llama.cpp refuses such a model);
//   - a stored type the engine cannot read is kept.
TensorTypeChoice chooseTensorType(GgmlType target, const TensorDescription& tensor, const QuantizeModelInfo& model);

// chooseTensorType for every tensor of a file, in the order given, with each tensor's ordinal computed
// in llama.cpp's order and model.attnVCount and model.tiedEmbeddings taken from the list.
std::vector<TensorTypeChoice> planQuantization(
    GgmlType target, std::vector<TensorDescription> tensors, QuantizeModelInfo model);

// The tensors of a file as the plan sees them (ordinals left 0: planQuantization computes them).
std::vector<TensorDescription> describeTensors(const GgufFile& file);

} // namespace engine
