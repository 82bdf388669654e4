// The quantiser's per-tensor type choice against llama-quantize's rules (llama.cpp src/llama-quant.cpp:
// llama_tensor_get_type_impl, tensor_type_fallback, tensor_allows_quantization), on the shapes of real
// models, with every expected type written out by hand from those rules; and one tied model quantised
// end to end.
#include "engine/format/gguffile.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/kernels/quantplan.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/generation.h"
#include "testsupport.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <map>
#include <set>

using namespace engine;
using namespace testsupport;

Q_DECLARE_METATYPE(engine::GgmlType)

namespace {

constexpr GgmlType F32 = GgmlType::F32;
constexpr GgmlType F16 = GgmlType::F16;
constexpr GgmlType BF16 = GgmlType::BF16;
constexpr GgmlType Q4_0 = GgmlType::Q4_0;
constexpr GgmlType Q5_0 = GgmlType::Q5_0;
constexpr GgmlType Q8_0 = GgmlType::Q8_0;
constexpr GgmlType Q4_K = GgmlType::Q4_K; // as a target: Q4_K_M
constexpr GgmlType Q5_K = GgmlType::Q5_K; // as a target: Q5_K_M
constexpr GgmlType Q6_K = GgmlType::Q6_K;

// A llama-family model's tensors as convert_hf_to_gguf.py writes them (shapes only).
struct Shape {
    std::string architecture;
    int layers, dim, heads, kvHeads, headDim, ffn, vocab;
    bool tied;
    bool qkNorm = false; // qwen3: blk.N.attn_q_norm / attn_k_norm, 1-D
    bool qkvBias = false; // qwen2: blk.N.attn_{q,k,v}.bias, 1-D
    bool ropeFreqs = false; // llama 3.1+: rope_freqs.weight, 1-D
};

std::vector<TensorDescription> tensorsOf(const Shape& s)
{
    using D = std::vector<uint64_t>;
    const uint64_t dim = uint64_t(s.dim), q = uint64_t(s.heads * s.headDim), kv = uint64_t(s.kvHeads * s.headDim);
    std::vector<TensorDescription> t;
    auto add = [&](std::string name, D dims) { t.push_back({ std::move(name), std::move(dims), F32, 0 }); };
    add("token_embd.weight", { dim, uint64_t(s.vocab) });
    if (s.ropeFreqs)
        add("rope_freqs.weight", { uint64_t(s.headDim / 2) });
    for (int i = 0; i < s.layers; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        add(b + "attn_norm.weight", { dim });
        add(b + "attn_q.weight", { dim, q });
        add(b + "attn_k.weight", { dim, kv });
        add(b + "attn_v.weight", { dim, kv });
        if (s.qkvBias) {
            add(b + "attn_q.bias", { q });
            add(b + "attn_k.bias", { kv });
            add(b + "attn_v.bias", { kv });
        }
        if (s.qkNorm) {
            add(b + "attn_q_norm.weight", { uint64_t(s.headDim) });
            add(b + "attn_k_norm.weight", { uint64_t(s.headDim) });
        }
        add(b + "attn_output.weight", { q, dim });
        add(b + "ffn_norm.weight", { dim });
        add(b + "ffn_gate.weight", { dim, uint64_t(s.ffn) });
        add(b + "ffn_up.weight", { dim, uint64_t(s.ffn) });
        add(b + "ffn_down.weight", { uint64_t(s.ffn), dim });
    }
    add("output_norm.weight", { dim });
    if (!s.tied)
        add("output.weight", { dim, uint64_t(s.vocab) });
    return t;
}

QuantizeModelInfo infoOf(const Shape& s)
{
    QuantizeModelInfo m;
    m.architecture = s.architecture;
    m.layers = s.layers;
    m.heads = s.heads;
    m.kvHeads = s.kvHeads;
    return m; // attnVCount and tiedEmbeddings: planQuantization counts them
}

std::map<std::string, GgmlType> planOf(GgmlType target, const Shape& s)
{
    const auto tensors = tensorsOf(s);
    const auto plan = planQuantization(target, tensors, infoOf(s));
    std::map<std::string, GgmlType> out;
    for (size_t i = 0; i < tensors.size(); ++i)
        out[tensors[i].name] = plan[i].type;
    return out;
}

// The role of a tensor in the expectation tables below.
enum class Role { TokenEmbd, Output, AttnQKO, AttnV, FfnGateUp, FfnDown, OneD };

Role roleOf(const std::string& name)
{
    if (name == "token_embd.weight")
        return Role::TokenEmbd;
    if (name == "output.weight")
        return Role::Output;
    if (name.find(".attn_v.weight") != std::string::npos)
        return Role::AttnV;
    if (name.find(".ffn_down.") != std::string::npos)
        return Role::FfnDown;
    if (name.find(".ffn_gate.") != std::string::npos || name.find(".ffn_up.") != std::string::npos)
        return Role::FfnGateUp;
    if (name.find(".attn_q.weight") != std::string::npos || name.find(".attn_k.weight") != std::string::npos
        || name.find(".attn_output.") != std::string::npos)
        return Role::AttnQKO;
    return Role::OneD;
}

int layerOf(const std::string& name) { return name.rfind("blk.", 0) == 0 ? std::stoi(name.substr(4)) : -1; }

// Expected types by role; attn_v and ffn_down differ between the layers use_more_bits picks ("more")
// and the others.
struct Expect {
    GgmlType tokenEmbd, output, attnQKO, ffnGateUp, attnVMore, attnVOther, ffnDownMore, ffnDownOther;
};

QString mismatch(const std::string& name, GgmlType got, GgmlType want)
{
    return QStringLiteral("%1 is %2, expected %3")
        .arg(QString::fromStdString(name), QString::fromLatin1(ggmlTypeName(got)),
            QString::fromLatin1(ggmlTypeName(want)));
}

void checkPlan(GgmlType target, const Shape& s, const Expect& e, const std::set<int>& moreBits)
{
    const auto plan = planOf(target, s);
    int checked = 0;
    for (const auto& [name, type] : plan) {
        const bool more = moreBits.count(layerOf(name)) > 0;
        GgmlType want = F32;
        switch (roleOf(name)) {
        case Role::TokenEmbd:
            want = e.tokenEmbd;
            break;
        case Role::Output:
            want = e.output;
            break;
        case Role::AttnQKO:
            want = e.attnQKO;
            break;
        case Role::FfnGateUp:
            want = e.ffnGateUp;
            break;
        case Role::AttnV:
            want = more ? e.attnVMore : e.attnVOther;
            break;
        case Role::FfnDown:
            want = more ? e.ffnDownMore : e.ffnDownOther;
            break;
        case Role::OneD:
            want = F32; // norms, biases, rope_freqs, attn_q_norm / attn_k_norm: kept as stored
            break;
        }
        QVERIFY2(type == want, qPrintable(mismatch(name, type, want)));
        ++checked;
    }
    QCOMPARE(checked, int(tensorsOf(s).size()));
}

// Llama 3 8B: 32 layers, n_embd 4096, 32 heads over 8 KV heads (n_gqa 4), ffn 14336, untied.
const Shape kLlama8B { "llama", 32, 4096, 32, 8, 128, 14336, 128256, false, false, false, true };
// TinyLlama 1.1B: 22 layers, n_embd 2048, 32 heads over 4 KV heads, ffn 5632, untied.
const Shape kTinyLlama { "llama", 22, 2048, 32, 4, 64, 5632, 32000, false };
// Llama 3.2 1B: 16 layers, n_embd 2048, 32 heads over 8, ffn 8192, tied, rope_freqs.
const Shape kLlama1B { "llama", 16, 2048, 32, 8, 64, 8192, 128256, true, false, false, true };
// Qwen3 0.6B: 28 layers, n_embd 1024, 16 heads of 128 over 8, ffn 3072, tied, q/k norms.
const Shape kQwen3_06B { "qwen3", 28, 1024, 16, 8, 128, 3072, 151936, true, true, false, false };
// Qwen2.5 0.5B: 24 layers, n_embd 896 (3.5 super-blocks), 14 heads of 64 over 2, ffn 4864, tied, q/k/v biases.
const Shape kQwen25_05B { "qwen2", 24, 896, 14, 2, 64, 4864, 151936, true, false, true, false };

// use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8) % 3 == 2, worked out by hand:
//   n = 32: n/8 = 4, 7n/8 = 28: 0-3, 28-31, and 6, 9, ..., 27
const std::set<int> kMoreBits32 { 0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31 };
//   n = 22: n/8 = 2, 7n/8 = 19: 0-1, 19-21, and 4, 7, 10, 13, 16
const std::set<int> kMoreBits22 { 0, 1, 4, 7, 10, 13, 16, 19, 20, 21 };
//   n = 16: n/8 = 2, 7n/8 = 14: 0-1, 14-15, and 4, 7, 10, 13
const std::set<int> kMoreBits16 { 0, 1, 4, 7, 10, 13, 14, 15 };
//   n = 28: n/8 = 3, 7n/8 = 24: 0-2, 24-27, and 5, 8, ..., 23
const std::set<int> kMoreBits28 { 0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27 };
//   n = 24: n/8 = 3, 7n/8 = 21: 0-2, 21-23, and 5, 8, 11, 14, 17, 20
const std::set<int> kMoreBits24 { 0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23 };

} // namespace

Q_DECLARE_METATYPE(Expect)

class TestQuantPlan : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void categoriesFollowLlamaCppNames()
    {
        QCOMPARE(tensorCategory("token_embd.weight"), TensorCategory::TokenEmbd);
        QCOMPARE(tensorCategory("output.weight"), TensorCategory::Output);
        QCOMPARE(tensorCategory("output_norm.weight"), TensorCategory::Other);
        QCOMPARE(tensorCategory("blk.3.attn_q.weight"), TensorCategory::AttnQ);
        QCOMPARE(tensorCategory("blk.3.attn_k.weight"), TensorCategory::AttnK);
        QCOMPARE(tensorCategory("blk.3.attn_v.weight"), TensorCategory::AttnV);
        QCOMPARE(tensorCategory("blk.3.attn_qkv.weight"), TensorCategory::AttnV); // category_is_attn_v
        QCOMPARE(tensorCategory("blk.3.attn_output.weight"), TensorCategory::AttnOutput);
        QCOMPARE(tensorCategory("blk.3.ffn_gate.weight"), TensorCategory::FfnGate);
        QCOMPARE(tensorCategory("blk.3.ffn_up.weight"), TensorCategory::FfnUp);
        QCOMPARE(tensorCategory("blk.3.ffn_down.weight"), TensorCategory::FfnDown);
        QCOMPARE(tensorCategory("blk.3.attn_q_norm.weight"), TensorCategory::Other);
        QCOMPARE(tensorCategory("blk.3.attn_k_norm.weight"), TensorCategory::Other);
        QCOMPARE(tensorCategory("rope_freqs.weight"), TensorCategory::Other);
    }

    void untiedModelTypesPerTarget_data()
    {
        QTest::addColumn<GgmlType>("target");
        QTest::addColumn<Expect>("expect");
        // Columns: token_embd, output, attn_q/k/output, ffn_gate/up, attn_v (more bits / other),
        // ffn_down (more bits / other).
        // - output: "new_type != Q8_0 -> Q6_K" (rows of 4096 are whole blocks of every target);
        // - untied token_embd: no rule for these file types, so the target;
        // - Q4_K_M / Q5_K_M: attn_v and ffn_down Q6_K where use_more_bits; nothing else changes;
        // - GQA (n_gqa 4 here) only matters to Q2_K / Q3_K / IQ mixes, not to these.
        QTest::newRow("Q8_0") << Q8_0 << Expect { Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0 };
        QTest::newRow("Q4_0") << Q4_0 << Expect { Q4_0, Q6_K, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0 };
        QTest::newRow("Q5_0") << Q5_0 << Expect { Q5_0, Q6_K, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0 };
        QTest::newRow("Q4_K_M") << Q4_K << Expect { Q4_K, Q6_K, Q4_K, Q4_K, Q6_K, Q4_K, Q6_K, Q4_K };
        QTest::newRow("Q5_K_M") << Q5_K << Expect { Q5_K, Q6_K, Q5_K, Q5_K, Q6_K, Q5_K, Q6_K, Q5_K };
        QTest::newRow("Q6_K") << Q6_K << Expect { Q6_K, Q6_K, Q6_K, Q6_K, Q6_K, Q6_K, Q6_K, Q6_K };
        // Plain targets: "if (ggml_is_quantized(default_type))" guards every rule, so each matrix is the target.
        QTest::newRow("F16") << F16 << Expect { F16, F16, F16, F16, F16, F16, F16, F16 };
        QTest::newRow("BF16") << BF16 << Expect { BF16, BF16, BF16, BF16, BF16, BF16, BF16, BF16 };
        QTest::newRow("F32") << F32 << Expect { F32, F32, F32, F32, F32, F32, F32, F32 };
    }
    void untiedModelTypesPerTarget()
    {
        QFETCH(GgmlType, target);
        QFETCH(Expect, expect);
        checkPlan(target, kLlama8B, expect, kMoreBits32); // 32 layers, with rope_freqs
        if (QTest::currentTestFailed())
            return;
        checkPlan(target, kTinyLlama, expect, kMoreBits22); // 22 layers
    }

    void tiedModelTypesPerTarget_data()
    {
        QTest::addColumn<GgmlType>("target");
        QTest::addColumn<Expect>("expect");
        // No output.weight: token_embd takes the output's rule ("has_tied_embeddings && TOKEN_EMBD"):
        // Q6_K, except Q8_0 for a Q8_0 target. Everything else as in the untied table.
        QTest::newRow("Q8_0") << Q8_0 << Expect { Q8_0, F32, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0 };
        QTest::newRow("Q4_0") << Q4_0 << Expect { Q6_K, F32, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0 };
        QTest::newRow("Q5_0") << Q5_0 << Expect { Q6_K, F32, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0 };
        QTest::newRow("Q4_K_M") << Q4_K << Expect { Q6_K, F32, Q4_K, Q4_K, Q6_K, Q4_K, Q6_K, Q4_K };
        QTest::newRow("Q5_K_M") << Q5_K << Expect { Q6_K, F32, Q5_K, Q5_K, Q6_K, Q5_K, Q6_K, Q5_K };
        QTest::newRow("Q6_K") << Q6_K << Expect { Q6_K, F32, Q6_K, Q6_K, Q6_K, Q6_K, Q6_K, Q6_K };
        QTest::newRow("F16") << F16 << Expect { F16, F32, F16, F16, F16, F16, F16, F16 };
        QTest::newRow("BF16") << BF16 << Expect { BF16, F32, BF16, BF16, BF16, BF16, BF16, BF16 };
    }
    void tiedModelTypesPerTarget()
    {
        QFETCH(GgmlType, target);
        QFETCH(Expect, expect);
        checkPlan(target, kLlama1B, expect, kMoreBits16); // llama, 16 layers, rope_freqs kept F32
        if (QTest::currentTestFailed())
            return;
        checkPlan(target, kQwen3_06B, expect, kMoreBits28); // qwen3, 28 layers, attn_q/k_norm kept F32
    }

    void rowsNotWholeSuperBlocksFallBack_data()
    {
        QTest::addColumn<GgmlType>("target");
        QTest::addColumn<Expect>("expect");
        // Qwen2.5 0.5B: rows of 896 (3.5 x 256) in every matrix but ffn_down (rows of 4864 = 19 x 256).
        // - tied token_embd (the output): "nx % qk_k != 0 -> Q8_0" for the K targets; for Q4_0 / Q5_0
        //   (32-blocks fit) Q6_K, which tensor_type_fallback turns into Q8_0;
        // - tensor_type_fallback: Q4_K -> Q5_0, Q6_K -> Q8_0, Q5_K -> Q5_1 in llama.cpp, Q5_0 here
        //   (the engine has no Q5_1 kernels; Q5_0 is the same size as Q5_K);
        // - ffn_down keeps the mix: Q6_K on the use_more_bits layers.
        QTest::newRow("Q8_0") << Q8_0 << Expect { Q8_0, F32, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0, Q8_0 };
        QTest::newRow("Q4_0") << Q4_0 << Expect { Q8_0, F32, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0, Q4_0 };
        QTest::newRow("Q5_0") << Q5_0 << Expect { Q8_0, F32, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0, Q5_0 };
        QTest::newRow("Q4_K_M") << Q4_K << Expect { Q8_0, F32, Q5_0, Q5_0, Q8_0, Q5_0, Q6_K, Q4_K };
        QTest::newRow("Q5_K_M") << Q5_K << Expect { Q8_0, F32, Q5_0, Q5_0, Q8_0, Q5_0, Q6_K, Q5_K };
        QTest::newRow("Q6_K") << Q6_K << Expect { Q8_0, F32, Q8_0, Q8_0, Q8_0, Q8_0, Q6_K, Q6_K };
        QTest::newRow("F16") << F16 << Expect { F16, F32, F16, F16, F16, F16, F16, F16 }; // no blocks, no fallback
    }
    void rowsNotWholeSuperBlocksFallBack()
    {
        QFETCH(GgmlType, target);
        QFETCH(Expect, expect);
        checkPlan(target, kQwen25_05B, expect, kMoreBits24); // q/k/v biases kept F32
    }

    void rowsNotWholeBlocksOfThirtyTwoBecomeF16()
    {
        // A row of 100 fits no block: tensor_type_fallback's second step ("must use F16 due to unusual
        // shape") for the K types; for 32-block targets llama.cpp has no fallback and refuses the model,
        // where this quantiser writes F16 too.
        const QuantizeModelInfo m { "llama", 1, 4, 4, 0, false };
        const TensorDescription q { "blk.0.attn_q.weight", { 100, 64 }, F32, 0 };
        const TensorDescription out { "output.weight", { 100, 512 }, F32, 0 };
        for (GgmlType target : { Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, F16 }) {
            QCOMPARE(chooseTensorType(target, q, m).type, F16);
            QCOMPARE(chooseTensorType(target, out, m).type, F16); // output: Q8_0, then F16
        }
        const auto c = chooseTensorType(Q4_K, q, m);
        QVERIFY2(c.note.find("row of 100 not a multiple of 256") != std::string::npos, c.note.c_str());
    }

    void gqaLeavesTheseMixesAloneBut70BLiftsAttnV()
    {
        // Llama 3 8B with and without grouped-query attention: the same plan for every target offered.
        Shape mha = kLlama8B;
        mha.kvHeads = mha.heads;
        for (GgmlType target : { Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K })
            QVERIFY(planOf(target, kLlama8B) == planOf(target, mha));

        // LLM_TYPE_70B (llama with 80 layers and n_head != n_head_kv, or qwen2 with 80 layers): an attn_v
        // that Q4_K_M leaves Q4_K becomes Q5_K. use_more_bits(i, 80): n/8 = 10, 7n/8 = 70, so layer 11 is
        // not picked ((11 - 10) % 3 = 1) and layer 12 is ((12 - 10) % 3 = 2).
        const Shape llama70B { "llama", 80, 8192, 64, 8, 128, 28672, 128256, false };
        auto p = planOf(Q4_K, llama70B);
        QCOMPARE(p["blk.11.attn_v.weight"], Q5_K);
        QCOMPARE(p["blk.12.attn_v.weight"], Q6_K);
        QCOMPARE(p["blk.0.attn_v.weight"], Q6_K);
        QCOMPARE(p["blk.11.ffn_down.weight"], Q4_K); // the 70B rule is attn_v's only
        QCOMPARE(p["blk.11.attn_k.weight"], Q4_K);
        QCOMPARE(planOf(Q5_K, llama70B)["blk.11.attn_v.weight"], Q5_K); // Q5_K_M: already Q5_K
        QCOMPARE(planOf(Q4_0, llama70B)["blk.11.attn_v.weight"], Q4_0); // only Q3_K / Q4_K are lifted

        Shape llama65B = llama70B; // 80 layers without GQA: LLM_TYPE_65B
        llama65B.kvHeads = llama65B.heads;
        QCOMPARE(planOf(Q4_K, llama65B)["blk.11.attn_v.weight"], Q4_K);
        Shape qwen72B = llama70B; // qwen2 with 80 layers is 70B whatever its heads
        qwen72B.architecture = "qwen2";
        qwen72B.kvHeads = qwen72B.heads;
        QCOMPARE(planOf(Q4_K, qwen72B)["blk.11.attn_v.weight"], Q5_K);
    }

    void countersRunInLlamaCppOrderNotFileOrder()
    {
        // llama.cpp counts attn_v tensors in its own order (by layer, then name), whatever the file's
        // order: a reversed file gets the same types, and "blk.10" is not counted before "blk.2".
        auto tensors = tensorsOf(kTinyLlama);
        const auto forward = planQuantization(Q4_K, tensors, infoOf(kTinyLlama));
        std::map<std::string, GgmlType> want;
        for (size_t i = 0; i < tensors.size(); ++i)
            want[tensors[i].name] = forward[i].type;
        std::reverse(tensors.begin(), tensors.end());
        const auto backward = planQuantization(Q4_K, tensors, infoOf(kTinyLlama));
        for (size_t i = 0; i < tensors.size(); ++i)
            QVERIFY2(backward[i].type == want[tensors[i].name], tensors[i].name.c_str());
        QCOMPARE(want["blk.2.attn_v.weight"], Q4_K); // use_more_bits(2, 22) is false
        QCOMPARE(want["blk.10.attn_v.weight"], Q6_K); // (10 - 2) % 3 == 2

        // An absurd layer number does not overflow, and a name that is not a layer does not break the plan.
        tensors.push_back({ "blk.99999999999999999999.attn_v.weight", { 2048, 256 }, F32, 0 });
        tensors.push_back({ "blk.x.ffn_down.weight", { 5632, 2048 }, F32, 0 });
        QCOMPARE(planQuantization(Q4_K, tensors, infoOf(kTinyLlama)).size(), tensors.size());
    }

    void unreadableAndAlreadyQuantisedTensors()
    {
        const QuantizeModelInfo m { "llama", 1, 4, 4, 1, false };
        // A stored type the engine has no kernels for cannot be converted: kept.
        const auto c = chooseTensorType(Q4_K, { "blk.0.attn_q.weight", { 256, 256 }, GgmlType::Q2_K, 0 }, m);
        QCOMPARE(c.type, GgmlType::Q2_K);
        QVERIFY2(c.note.find("kept") != std::string::npos, c.note.c_str());
        // F16 matrices are quantised like F32 ones; 1-D tensors keep whatever they are stored as.
        QCOMPARE(chooseTensorType(Q4_0, { "blk.0.ffn_up.weight", { 256, 512 }, F16, 0 }, m).type, Q4_0);
        QCOMPARE(chooseTensorType(Q4_0, { "blk.0.attn_norm.weight", { 256 }, F16, 0 }, m).type, F16);
        QCOMPARE(chooseTensorType(Q4_0, { "blk.0.attn_q.bias", { 256 }, F32, 0 }, m).type, F32);
        // A [n, 1] tensor is 1-D to ggml (ggml_n_dims drops trailing ones).
        QCOMPARE(chooseTensorType(Q4_0, { "blk.0.ffn_up.weight", { 256, 1 }, F32, 0 }, m).type, F32);
    }

    void targetsByLlamaQuantizeNames()
    {
        QCOMPARE(quantizeTargetFromName("Q4_K_M"), std::optional(Q4_K));
        QCOMPARE(quantizeTargetFromName("q5_k_m"), std::optional(Q5_K));
        QCOMPARE(quantizeTargetFromName("Q4_K"), std::optional(Q4_K));
        QCOMPARE(quantizeTargetFromName("q8_0"), std::optional(Q8_0));
        QCOMPARE(quantizeTargetFromName("Q4_K_S"), std::optional<GgmlType>());
        QCOMPARE(quantizeTargetFromName("f16"), std::optional(F16));
        QCOMPARE(quantizeTargetFromName("BF16"), std::optional(BF16));
        QCOMPARE(quantizeTargetFromName("Q8_K"), std::optional<GgmlType>());
        QCOMPARE(quantizeTargetName(Q4_K), std::string("Q4_K_M"));
        QCOMPARE(quantizeTargetName(Q5_K), std::string("Q5_K_M"));
        QCOMPARE(quantizeTargetName(Q6_K), std::string("Q6_K"));
    }

    void plainTargetsConvertEveryMatrixAndKeepNorms()
    {
        // --type F16 / BF16 as llama-quantize does it: every matrix, token_embd included, in the target;
        // norms stay F32; general.file_type LLAMA_FTYPE_MOSTLY_F16 (1) / MOSTLY_BF16 (32).
        QVERIFY(m_dir.isValid());
        const SyntheticShape shape { "tied96", 96, 2, 4, 2, 160, 256, 64, F32, true, "tied test model" };
        const QString in = m_dir.filePath(QStringLiteral("tied96.gguf"));
        writeFile(in, syntheticModelGguf(shape));
        for (auto [target, fileType] : { std::pair { F16, 1u }, std::pair { BF16, 32u } }) {
            const QString outPath
                = m_dir.filePath(QStringLiteral("tied96-%1.gguf").arg(QString::fromLatin1(ggmlTypeName(target))));
            quantizeModel(in.toStdString(), outPath.toStdString(), target);
            const GgufFile out = GgufFile::open(outPath.toStdString());
            QCOMPARE(out.getUInt("general.file_type"), uint64_t(fileType));
            for (const auto& t : out.tensors())
                QVERIFY2(t.type == (t.dims.size() == 1 ? F32 : target), t.name.c_str());
            const auto model = Model::load(outPath.toStdString());
            Scheduler scheduler({ 1, Partitioner::Auto, 1 });
            QCOMPARE(int(generate(model, scheduler, greedyRequest("hello", 2), 32).tokenIds.size()), 2);
        }
    }

    void tiedModelFileGetsQ6KTokenEmbeddings()
    {
        // End to end: a synthetic tied llama model (rows of 256, 2 layers) quantised to Q4_K_M. The
        // written token_embd is Q6_K, the file's types are the plan's, and the model still runs.
        QVERIFY(m_dir.isValid());
        const SyntheticShape shape { "tied256", 256, 2, 4, 2, 512, 512, 64, F32, true, "tied test model" };
        const QString in = m_dir.filePath(QStringLiteral("tied.gguf"));
        const QString outPath = m_dir.filePath(QStringLiteral("tied-q4_k_m.gguf"));
        writeFile(in, syntheticModelGguf(shape));
        const auto report = quantizeModel(in.toStdString(), outPath.toStdString(), Q4_K);
        const GgufFile out = GgufFile::open(outPath.toStdString());
        QVERIFY(out.findTensor("output.weight") == nullptr);
        QCOMPARE(out.findTensor("token_embd.weight")->type, Q6_K);
        // use_more_bits(i, 2): n/8 = 0, 7n/8 = 1: layer 1 only.
        QCOMPARE(out.findTensor("blk.0.ffn_down.weight")->type, Q4_K);
        QCOMPARE(out.findTensor("blk.1.ffn_down.weight")->type, Q6_K);
        QCOMPARE(out.findTensor("blk.0.attn_v.weight")->type, Q4_K);
        QCOMPARE(out.findTensor("blk.1.attn_v.weight")->type, Q6_K);
        QCOMPARE(out.findTensor("blk.0.attn_q.weight")->type, Q4_K);
        QCOMPARE(out.findTensor("output_norm.weight")->type, F32);
        const GgufFile original = GgufFile::open(in.toStdString());
        const auto plan = planQuantization(Q4_K, describeTensors(original), QuantizeModelInfo::fromGguf(original));
        const auto dryRun = planModelQuantization(in.toStdString(), Q4_K); // what --dry-run prints
        QCOMPARE(out.tensors().size(), plan.size());
        for (size_t i = 0; i < plan.size(); ++i) {
            QCOMPARE(out.tensors()[i].type, plan[i].type);
            QCOMPARE(report.tensors[i].to, plan[i].type);
            QCOMPARE(dryRun.tensors[i].to, plan[i].type);
            QCOMPARE(dryRun.tensors[i].bytesAfter, out.tensors()[i].nbytes);
            QCOMPARE(dryRun.tensors[i].note, report.tensors[i].note);
        }
        QCOMPARE(dryRun.tensorBytesAfter, report.tensorBytesAfter);

        const auto model = Model::load(outPath.toStdString());
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        QCOMPARE(int(generate(model, scheduler, greedyRequest("hello", 3), 32).tokenIds.size()), 3);
    }
};

QTEST_APPLESS_MAIN(TestQuantPlan)
#include "test_quantplan.moc"
