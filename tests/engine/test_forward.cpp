// The engine's forward pass against a plain, obviously-correct scalar reference written here,
// and the determinism invariant: identical results for every thread count and partitioner.
#include "engine/format/gguffile.h"
#include "engine/format/ggufwriter.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/model/contextmemory.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/model/synthetic.h"
#include "engine/parallel/scheduler.h"
#include "engine/run/generation.h"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace engine;

namespace {

// ---------------------------------------------------------------------------------------------
// The reference: double precision, one token at a time, every loop written out. It reads the
// GGUF file itself (metadata and raw tensor bytes) and shares no code with the engine.

double halfToDouble(uint16_t h)
{
    const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    const double v = exp == 0 ? std::ldexp(double(mant), -24) : std::ldexp(double(1024 + mant), exp - 25);
    return (h & 0x8000) ? -v : v;
}

struct Reference {
    int dim, layers, heads, kvHeads, hd, hidden, vocab;
    double eps, base;
    bool neox = false; // qwen2: rotate-half pairs (j, j + hd/2) and Q/K/V biases
    std::map<std::string, std::vector<double>> w;

    explicit Reference(const GgufFile& f)
    {
        const std::string arch = f.find("general.architecture")->asString();
        neox = arch == "qwen2";
        const std::string p = arch + ".";
        dim = int(f.find(p + "embedding_length")->asUInt());
        layers = int(f.find(p + "block_count")->asUInt());
        heads = int(f.find(p + "attention.head_count")->asUInt());
        kvHeads = int(f.find(p + "attention.head_count_kv")->asUInt());
        hidden = int(f.find(p + "feed_forward_length")->asUInt());
        eps = f.find(p + "attention.layer_norm_rms_epsilon")->asFloat();
        base = f.find(p + "rope.freq_base")->asFloat();
        vocab = int(f.find("tokenizer.ggml.tokens")->arraySize());
        hd = dim / heads;
        for (const auto& t : f.tensors()) {
            std::vector<double>& v = w[t.name];
            const uint64_t n = t.elementCount();
            v.resize(n);
            for (uint64_t i = 0; i < n; ++i) {
                if (t.type == GgmlType::F32) {
                    float x;
                    std::memcpy(&x, t.data + 4 * i, 4);
                    v[i] = x;
                } else {
                    uint16_t h;
                    std::memcpy(&h, t.data + 2 * i, 2);
                    if (t.type == GgmlType::F16) {
                        v[i] = halfToDouble(h);
                    } else {
                        const uint32_t bits = uint32_t(h) << 16;
                        float x;
                        std::memcpy(&x, &bits, 4);
                        v[i] = x;
                    }
                }
            }
        }
        if (!w.count("output.weight"))
            w["output.weight"] = w["token_embd.weight"]; // tied embeddings
    }

    // y = W x for W stored (rows, cols) row-major
    static std::vector<double> matvec(const std::vector<double>& W, const std::vector<double>& x, int rows)
    {
        const size_t cols = x.size();
        std::vector<double> y(size_t(rows), 0.0);
        for (int r = 0; r < rows; ++r)
            for (size_t c = 0; c < cols; ++c)
                y[size_t(r)] += W[size_t(r) * cols + c] * x[c];
        return y;
    }

    std::vector<double> rmsnorm(const std::vector<double>& x, const std::vector<double>& g) const
    {
        double ss = 0;
        for (double v : x)
            ss += v * v;
        const double s = 1.0 / std::sqrt(ss / double(x.size()) + eps);
        std::vector<double> y(x.size());
        for (size_t i = 0; i < x.size(); ++i)
            y[i] = x[i] * s * g[i];
        return y;
    }

    // Rotates pairs (2j, 2j+1) of every head: the GGUF arch=llama convention; qwen2 (NeoX) pairs j, j+hd/2.
    void rope(std::vector<double>& v, int nHeads, int pos) const
    {
        for (int h = 0; h < nHeads; ++h)
            for (int j = 0; j < hd / 2; ++j) {
                const double theta = pos * std::pow(base, -2.0 * j / hd);
                double& a = v[size_t(h * hd + (neox ? j : 2 * j))];
                double& b = v[size_t(h * hd + (neox ? j + hd / 2 : 2 * j + 1))];
                const double a0 = a, b0 = b;
                a = a0 * std::cos(theta) - b0 * std::sin(theta);
                b = a0 * std::sin(theta) + b0 * std::cos(theta);
            }
    }

    // Logits for every position of `tokens`.
    std::vector<std::vector<double>> run(const std::vector<int32_t>& tokens) const
    {
        const int kvDim = kvHeads * hd;
        std::vector<std::vector<std::vector<double>>> K(static_cast<size_t>(layers)), V(static_cast<size_t>(layers));
        std::vector<std::vector<double>> out;
        for (size_t pos = 0; pos < tokens.size(); ++pos) {
            const auto& E = w.at("token_embd.weight");
            std::vector<double> x(E.begin() + tokens[pos] * dim, E.begin() + (tokens[pos] + 1) * dim);
            for (int l = 0; l < layers; ++l) {
                const std::string b = "blk." + std::to_string(l) + ".";
                auto xb = rmsnorm(x, w.at(b + "attn_norm.weight"));
                auto q = matvec(w.at(b + "attn_q.weight"), xb, heads * hd);
                auto k = matvec(w.at(b + "attn_k.weight"), xb, kvDim);
                auto v = matvec(w.at(b + "attn_v.weight"), xb, kvDim);
                if (neox) {
                    for (size_t i = 0; i < q.size(); ++i)
                        q[i] += w.at(b + "attn_q.bias")[i];
                    for (size_t i = 0; i < k.size(); ++i) {
                        k[i] += w.at(b + "attn_k.bias")[i];
                        v[i] += w.at(b + "attn_v.bias")[i];
                    }
                }
                rope(q, heads, int(pos));
                rope(k, kvHeads, int(pos));
                K[size_t(l)].push_back(k);
                V[size_t(l)].push_back(v);
                std::vector<double> att(size_t(heads * hd), 0.0);
                for (int h = 0; h < heads; ++h) {
                    const int g = h / (heads / kvHeads);
                    std::vector<double> s(pos + 1);
                    double mx = -1e300;
                    for (size_t p = 0; p <= pos; ++p) {
                        double d = 0;
                        for (int i = 0; i < hd; ++i)
                            d += q[size_t(h * hd + i)] * K[size_t(l)][p][size_t(g * hd + i)];
                        s[p] = d / std::sqrt(double(hd));
                        mx = std::max(mx, s[p]);
                    }
                    double z = 0;
                    for (double& e : s)
                        z += (e = std::exp(e - mx));
                    for (size_t p = 0; p <= pos; ++p)
                        for (int i = 0; i < hd; ++i)
                            att[size_t(h * hd + i)] += s[p] / z * V[size_t(l)][p][size_t(g * hd + i)];
                }
                auto o = matvec(w.at(b + "attn_output.weight"), att, dim);
                for (int i = 0; i < dim; ++i)
                    x[size_t(i)] += o[size_t(i)];
                xb = rmsnorm(x, w.at(b + "ffn_norm.weight"));
                auto gate = matvec(w.at(b + "ffn_gate.weight"), xb, hidden);
                auto up = matvec(w.at(b + "ffn_up.weight"), xb, hidden);
                for (int i = 0; i < hidden; ++i)
                    gate[size_t(i)] = gate[size_t(i)] / (1.0 + std::exp(-gate[size_t(i)])) * up[size_t(i)];
                auto down = matvec(w.at(b + "ffn_down.weight"), gate, dim);
                for (int i = 0; i < dim; ++i)
                    x[size_t(i)] += down[size_t(i)];
            }
            out.push_back(matvec(w.at("output.weight"), rmsnorm(x, w.at("output_norm.weight")), vocab));
        }
        return out;
    }
};

// Small shapes that exercise grouped-query attention, tied embeddings and the stored types.
SyntheticShape testShape(const QString& name)
{
    if (name == "tiny")
        return syntheticShape("tiny");
    if (name == "tiny-f16") {
        auto s = syntheticShape("tiny");
        s.name = "tiny-f16";
        s.type = GgmlType::F16;
        return s;
    }
    if (name == "tiny-q8_0" || name == "tiny-q4_0") { // the integer kernels, which read quantised activations
        auto s = syntheticShape("tiny");
        s.name = name.toStdString();
        s.type = name == "tiny-q8_0" ? GgmlType::Q8_0 : GgmlType::Q4_0;
        return s;
    }
    if (name == "tiny-bf16") {
        auto s = syntheticShape("tiny");
        s.name = "tiny-bf16";
        s.type = GgmlType::BF16;
        return s;
    }
    if (name == "qwen2-tied") // biases, rotate-half RoPE, tied embeddings, GQA
        return { "qwen2-tied", 128, 2, 4, 2, 256, 400, 256, GgmlType::F32, true, "test shape", "qwen2" };
    // 8 query heads sharing 2 KV heads, odd sizes (rows not a multiple of the block), tied output.
    return { "gqa-tied", 96, 2, 8, 2, 200, 300, 400, GgmlType::F32, true, "test shape" };
}

struct Built {
    std::shared_ptr<const Model> model;
    std::shared_ptr<std::vector<uint8_t>> bytes;
};

Built build(const QString& shapeName)
{
    const SyntheticShape s = testShape(shapeName);
    auto bytes = std::make_shared<std::vector<uint8_t>>(syntheticModelGguf(s, 99));
    return { Model::fromGgufBuffer(bytes, "test:" + s.name), bytes };
}

std::vector<int32_t> promptIds(int n, int vocab, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::vector<int32_t> ids { 1 };
    while (int(ids.size()) < n)
        ids.push_back(int32_t(3 + rng() % uint32_t(vocab - 3)));
    return ids;
}

double maxAbsDiff(const float* got, const std::vector<double>& want)
{
    double m = 0;
    for (size_t i = 0; i < want.size(); ++i)
        m = std::max(m, std::abs(double(got[i]) - want[i]));
    return m;
}

// run(options) under every thread count, partitioner and grain given gives the bits of one thread's run.
template <typename Run>
void requireOneThreadsBits(Run&& run, std::initializer_list<int> threadCounts, std::initializer_list<size_t> grains)
{
    const auto baseline = run(SchedulerOptions { 1, Partitioner::Auto, 1 });
    for (int threads : threadCounts)
        for (Partitioner p : { Partitioner::Auto, Partitioner::Simple, Partitioner::Static, Partitioner::Affinity })
            for (size_t grain : grains) {
                const auto got = run(SchedulerOptions { threads, p, grain });
                QVERIFY2(got.size() == baseline.size()
                        && std::memcmp(got.data(), baseline.data(), got.size() * sizeof(float)) == 0,
                    qPrintable(QStringLiteral("%1 threads, %2 partitioner, grain %3 differ")
                                   .arg(threads)
                                   .arg(partitionerName(p))
                                   .arg(grain)));
            }
}

} // namespace

class TestForward : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void logitsMatchScalarReference_data()
    {
        QTest::addColumn<QString>("shape");
        QTest::addColumn<int>("threads");
        for (const char* s : { "tiny", "tiny-f16", "tiny-bf16", "gqa-tied", "qwen2-tied" })
            for (int t : { 1, 2 })
                QTest::addRow("%s %d threads", s, t) << QString(s) << t;
    }
    void logitsMatchScalarReference()
    {
        QFETCH(QString, shape);
        QFETCH(int, threads);
        const Built b = build(shape);
        const Reference ref(*b.model->file());
        // 20 tokens: prefill from 16 tokens on runs RoPE per head in parallel and attention through the avx512 tiles;
        // the mixed run's first 10 keep the serial RoPE and Eigen.
        const auto ids = promptIds(20, ref.vocab, 3);
        const auto want = ref.run(ids);
        Scheduler scheduler({ threads, Partitioner::Auto, 1 });

        // Prefill path: the whole prompt in one matrix-matrix pass, logits of every position.
        InferenceContext batch(b.model, 64);
        const auto all = batch.evalAll(scheduler, ids);
        for (size_t p = 0; p < ids.size(); ++p) {
            const double d = maxAbsDiff(all.data() + p * size_t(ref.vocab), want[p]);
            QVERIFY2(d < 1e-4, qPrintable(QStringLiteral("prefill position %1: max |dlogit| = %2").arg(p).arg(d)));
        }
        // Decode path: one token at a time through the KV cache (matrix-vector).
        InferenceContext step(b.model, 64);
        for (size_t p = 0; p < ids.size(); ++p) {
            const auto logits = step.eval(scheduler, std::span<const int32_t>(&ids[p], 1));
            const double d = maxAbsDiff(logits.data(), want[p]);
            QVERIFY2(d < 1e-4, qPrintable(QStringLiteral("decode position %1: max |dlogit| = %2").arg(p).arg(d)));
        }
        // A mixed run: prefill half, then decode the rest, lands on the same last logits.
        InferenceContext mixed(b.model, 64);
        const size_t half = ids.size() / 2;
        mixed.eval(scheduler, std::span<const int32_t>(ids.data(), half));
        std::span<const float> last;
        for (size_t p = half; p < ids.size(); ++p)
            last = mixed.eval(scheduler, std::span<const int32_t>(&ids[p], 1));
        QVERIFY(maxAbsDiff(last.data(), want.back()) < 1e-4);
    }

    // Small F32 models keep their layer matrices packed for prefill (Model::packPrefillPanels) where the level has
    // the panel kernel: every layer matrix, each copy 64-byte aligned and holding the rows in panel order; not the
    // output matrix, not other types. (logitsMatchScalarReference checks the prefill that reads them.)
    void smallFloatModelsKeepPackedPanels()
    {
        const Built f32 = build("tiny");
        const bool packs = cpuKernels().packWeightPanels != nullptr;
        for (const LayerWeights& L : f32.model->layers())
            for (const WeightMatrix* w : L.matrices()) {
                QCOMPARE(w->panels != nullptr, packs);
                if (!w->panels)
                    continue;
                QCOMPARE(reinterpret_cast<uintptr_t>(w->panels) % 64, uintptr_t(0));
                // Panel of rows 16..31, column 3, row 16 + 5: the 16 rows' values of a column side by side.
                if (w->rows >= 32 && w->cols >= 4) {
                    const float* row21 = reinterpret_cast<const float*>(w->row(21));
                    QCOMPARE(w->panels[16 * w->cols + 3 * 16 + 5], row21[3]);
                }
            }
        QVERIFY(f32.model->output().panels == nullptr);
        const Built f16 = build("tiny-f16");
        for (const LayerWeights& L : f16.model->layers())
            for (const WeightMatrix* w : L.matrices())
                QVERIFY(w->panels == nullptr);
        if (!packs)
            QSKIP("the active kernel level has no panel kernel: nothing is packed (checked)");
    }

    void longPromptIsFedInChunksCorrectly()
    {
        const Built b = build("gqa-tied");
        const Reference ref(*b.model->file());
        const auto ids = promptIds(InferenceContext::kMaxBatch + 37, ref.vocab, 11);
        const auto want = ref.run(ids);
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        InferenceContext ctx(b.model, 400);
        const auto logits = ctx.eval(scheduler, ids);
        QVERIFY(maxAbsDiff(logits.data(), want.back()) < 1e-4);
        QCOMPARE(ctx.position(), int(ids.size()));
    }

    // A context's KV cache and activations come from the blocks ended contexts left (contextmemory.h), holding their
    // values. Attention must read only positions this context wrote: after a context fills 40 positions with other
    // tokens and ends, a context of the same size takes its blocks, and 8 tokens there give the reference's logits and
    // exactly those of a context that was made while the first was still running (so on other memory).
    void contextOnAnEndedContextsMemoryReadsOnlyItsOwnPositions()
    {
        const Built b = build("gqa-tied");
        const Reference ref(*b.model->file());
        const auto ids = promptIds(8, ref.vocab, 21);
        const auto other = promptIds(40, ref.vocab, 22);
        const auto want = ref.run(ids);
        // Prefill of the 8 tokens, then 3 decode steps (which read the cache one position further each).
        auto runOn = [&](Scheduler& scheduler, InferenceContext& ctx) {
            const auto all = ctx.evalAll(scheduler, ids);
            std::vector<float> out(all.begin(), all.end());
            for (int p = 0; p < 3; ++p) {
                const auto logits = ctx.eval(scheduler, std::span<const int32_t>(&ids[size_t(p)], 1));
                out.insert(out.end(), logits.begin(), logits.end());
            }
            return out;
        };
        for (int threads : { 1, 2 }) {
            Scheduler scheduler({ threads, Partitioner::Auto, 1 });
            InferenceContext separate(b.model, 64);
            std::vector<float> expected;
            {
                InferenceContext first(b.model, 64);
                first.eval(scheduler, other);
                for (int p = 0; p < 4; ++p) // decode steps too: they write the cache one position at a time
                    first.eval(scheduler, std::span<const int32_t>(&other[size_t(p)], 1));
                expected = runOn(scheduler, separate);
            }
            const size_t pooled = contextPoolBytes();
            InferenceContext second(b.model, 64);
            QVERIFY(contextPoolBytes() < pooled); // it took the ended context's blocks
            const std::vector<float> got = runOn(scheduler, second);
            for (size_t p = 0; p < ids.size(); ++p) {
                const double d = maxAbsDiff(got.data() + p * size_t(ref.vocab), want[p]);
                QVERIFY2(d < 1e-4, qPrintable(QStringLiteral("position %1: max |dlogit| = %2").arg(p).arg(d)));
            }
            QCOMPARE(got.size(), expected.size());
            QVERIFY(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        }
    }

    // The pool itself: a released block goes to the next request of its size, most recent first; other sizes get new
    // memory; a block over the pool's limit is not kept; the kept bytes are counted.
    void endedContextsBlocksAreHandedOnBySize()
    {
        const size_t before = contextPoolBytes();
        float* a = nullptr;
        float* b = nullptr;
        {
            auto blockA = acquireContextBlock(1000);
            auto blockB = acquireContextBlock(1000);
            a = blockA.get();
            b = blockB.get();
            blockA[999] = 1.0f; // writable to the end
            blockB[0] = 2.0f;
            QVERIFY(a != b);
        } // B released, then A: A is the most recent
        QCOMPARE(contextPoolBytes(), before + 2 * 1000 * sizeof(float));
        auto other = acquireContextBlock(999);
        QVERIFY(other.get() != a && other.get() != b);
        auto again = acquireContextBlock(1000);
        QCOMPARE(again.get(), a);
        auto next = acquireContextBlock(1000);
        QCOMPARE(next.get(), b);
        QCOMPARE(contextPoolBytes(), before);
        next.reset();
        again.reset();
        other.reset();
        QCOMPARE(contextPoolBytes(), before + (2 * 1000 + 999) * sizeof(float));
        {
            auto huge = acquireContextBlock(kContextPoolBytes / sizeof(float) + 1); // never written: not committed
            QVERIFY(huge != nullptr);
        }
        QCOMPARE(contextPoolBytes(), before + (2 * 1000 + 999) * sizeof(float));
    }

    void logitsBitIdenticalAcrossThreadCountsAndPartitioners_data()
    {
        QTest::addColumn<QString>("shape");
        QTest::newRow("tiny") << "tiny";
        QTest::newRow("tiny-f16") << "tiny-f16";
        QTest::newRow("tiny-q8_0") << "tiny-q8_0"; // the activations' quantisation split over the threads
        QTest::newRow("tiny-q4_0") << "tiny-q4_0";
        QTest::newRow("gqa-tied") << "gqa-tied";
        QTest::newRow("qwen2-tied") << "qwen2-tied";
    }
    void logitsBitIdenticalAcrossThreadCountsAndPartitioners()
    {
        QFETCH(QString, shape);
        const Built b = build(shape);
        const auto ids = promptIds(20, b.model->config().vocab, 5);
        auto run = [&](SchedulerOptions o) {
            Scheduler scheduler(o);
            InferenceContext ctx(b.model, 64);
            std::vector<float> out;
            auto l = ctx.eval(scheduler, ids);
            out.insert(out.end(), l.begin(), l.end());
            for (int32_t id : { 7, 8, 9, 10 }) {
                l = ctx.eval(scheduler, std::span<const int32_t>(&id, 1));
                out.insert(out.end(), l.begin(), l.end());
            }
            return out;
        };
        requireOneThreadsBits(run, { 1, 2, 3, 8 }, { 1, 3 });
    }

    // A prompt long enough for the norms, residual adds and quantisation to run as parallel regions over blocks of
    // tokens (two or more blocks of 8192 values: 160 tokens of 96 or 128 values): the same logits of every row, bit
    // for bit.
    void longPromptLogitsBitIdenticalAcrossThreadCountsAndPartitioners_data()
    {
        QTest::addColumn<QString>("shape");
        QTest::newRow("tiny-q8_0") << "tiny-q8_0";
        QTest::newRow("gqa-tied") << "gqa-tied";
    }
    void longPromptLogitsBitIdenticalAcrossThreadCountsAndPartitioners()
    {
        QFETCH(QString, shape);
        const Built b = build(shape);
        const auto ids = promptIds(160, b.model->config().vocab, 9);
        auto run = [&](SchedulerOptions o) {
            Scheduler scheduler(o);
            InferenceContext ctx(b.model, 200);
            const auto l = ctx.evalAll(scheduler, ids); // every row's logits: the final norm over 160 rows too
            return std::vector<float>(l.begin(), l.end());
        };
        requireOneThreadsBits(run, { 2, 3 }, { 1 });
    }

    void generatedTokensIdenticalAcrossThreadCountsAndPartitioners_data()
    {
        QTest::addColumn<float>("temperature");
        QTest::newRow("greedy") << 0.0f;
        QTest::newRow("sampled") << 0.9f;
    }
    void generatedTokensIdenticalAcrossThreadCountsAndPartitioners()
    {
        QFETCH(float, temperature);
        const Built b = build("tiny");
        GenerationRequest req;
        req.prompt = "The quick brown fox";
        req.maxTokens = 40;
        req.sampling.temperature = temperature;
        req.sampling.seed = 2024;
        req.stopAtEos = false;
        std::vector<int32_t> baseline;
        for (int threads : { 1, 2, 3, 8 })
            for (Partitioner p :
                { Partitioner::Auto, Partitioner::Simple, Partitioner::Static, Partitioner::Affinity }) {
                Scheduler scheduler({ threads, p, 1 });
                const auto r = generate(b.model, scheduler, req, 128);
                QCOMPARE(int(r.tokenIds.size()), 40);
                if (baseline.empty())
                    baseline = r.tokenIds;
                QCOMPARE(r.tokenIds, baseline);
            }
        // The sampled run must actually differ from greedy, or the test proves nothing about sampling.
        if (temperature > 0) {
            Scheduler scheduler({ 1, Partitioner::Auto, 1 });
            GenerationRequest greedy = req;
            greedy.sampling.temperature = 0;
            QVERIFY(generate(b.model, scheduler, greedy, 128).tokenIds != baseline);
        }
    }

    void arenaRunsOnTheRequestedNumberOfThreads_data()
    {
        QTest::addColumn<int>("threads");
        for (int t : { 1, 2, 3, 8 })
            QTest::addRow("%d", t) << t;
    }
    void arenaRunsOnTheRequestedNumberOfThreads()
    {
        // Oversubscribed arenas must really get their threads (TBB would cap them at the core count).
        QFETCH(int, threads);
        Scheduler scheduler({ threads, Partitioner::Simple, 1 });
        std::mutex mutex;
        std::set<std::thread::id> seen;
        std::atomic<int> arrived { 0 };
        scheduler.parallelFor({}, size_t(threads), [&](size_t, size_t) {
            {
                std::lock_guard lock(mutex);
                seen.insert(std::this_thread::get_id());
            }
            // Hold every chunk until all have started, so each needs a thread of its own.
            ++arrived;
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (arrived.load() < threads && std::chrono::steady_clock::now() < until)
                std::this_thread::yield();
        });
        QCOMPARE(int(seen.size()), threads);
    }

    void unusableModelsAreRefusedWithTheReason_data()
    {
        QTest::addColumn<QString>("change");
        QTest::addColumn<QString>("phrase");
        QTest::newRow("unknown architecture")
            << "arch"
            << "architecture 'gptj' is not supported (supported: llama, qwen2, qwen3)";
        QTest::newRow("missing tensor") << "drop:blk.1.ffn_up.weight"
                                        << "missing tensor 'blk.1.ffn_up.weight'";
        QTest::newRow("wrong shape") << "shape:blk.0.attn_k.weight"
                                     << "tensor 'blk.0.attn_k.weight' has shape";
        QTest::newRow("type without kernels") << "type:blk.0.attn_q.weight"
                                              << "cannot compute with";
        QTest::newRow("heads do not divide dim") << "heads"
                                                 << "not a multiple of head_count";
        QTest::newRow("missing hyper-parameter") << "nolayers"
                                                 << "missing metadata key 'llama.block_count'";
        QTest::newRow("zero layers") << "zerolayers"
                                     << "out of range";
    }
    void unusableModelsAreRefusedWithTheReason()
    {
        QFETCH(QString, change);
        QFETCH(QString, phrase);
        // Rewrite a good synthetic model with one thing broken.
        const auto good = syntheticModelGguf(syntheticShape("tiny"));
        const GgufFile in = GgufFile::fromMemory(good, "good");
        GgufWriter w;
        for (const auto& [key, value] : in.metadata()) {
            if (change == "nolayers" && key == "llama.block_count")
                continue;
            w.set(key, value);
        }
        if (change == "arch")
            w.setString("general.architecture", "gptj");
        if (change == "heads")
            w.setUInt32("llama.attention.head_count", 3);
        if (change == "zerolayers")
            w.setUInt32("llama.block_count", 0);
        for (const auto& t : in.tensors()) {
            const std::string name = change.section(':', 1).toStdString();
            if (change.startsWith("drop:") && t.name == name)
                continue;
            std::vector<uint8_t> bytes(t.data, t.data + t.nbytes);
            std::vector<uint64_t> dims = t.dims;
            GgmlType type = t.type;
            if (change.startsWith("shape:") && t.name == name)
                std::swap(dims[0], dims[1]);
            if (change.startsWith("type:") && t.name == name) {
                type = GgmlType::Q8_1; // a type the reader knows but no kernel computes
                bytes.assign(ggmlRowBytes(type, dims[0]) * dims[1], 0);
            }
            w.addTensor(t.name, type, dims, bytes);
        }
        const auto bad = w.toBytes();
        try {
            const GgufFile file = GgufFile::fromMemory(bad, "broken.gguf");
            Model::fromGguf(std::make_shared<const GgufFile>(file));
            QFAIL("the model loaded");
        } catch (const ModelFileError& e) {
            QVERIFY2(QString(e.what()).contains(phrase), e.what());
            QVERIFY2(QString(e.what()).startsWith("broken.gguf"), e.what());
        }
    }

    void contextOverflowAndBadTokensAreErrors()
    {
        const Built b = build("tiny");
        Scheduler scheduler({ 1, Partitioner::Auto, 1 });
        InferenceContext ctx(b.model, 8);
        const auto ids = promptIds(8, b.model->config().vocab, 1);
        ctx.eval(scheduler, ids);
        const int32_t one = 5;
        QVERIFY_THROWS_EXCEPTION(std::length_error, ctx.eval(scheduler, std::span<const int32_t>(&one, 1)));
        InferenceContext fresh(b.model, 8);
        const int32_t bad = b.model->config().vocab;
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, fresh.eval(scheduler, std::span<const int32_t>(&bad, 1)));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, InferenceContext(b.model, 1 << 21));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Scheduler({ 0, Partitioner::Auto, 1 }));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Scheduler({ 257, Partitioner::Auto, 1 }));
    }

    void generationStopsAtContextEndWithoutError()
    {
        const Built b = build("tiny");
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        GenerationRequest req;
        req.prompt = "abc";
        req.maxTokens = 1000;
        req.sampling.temperature = 0;
        req.stopAtEos = false;
        const auto r = generate(b.model, scheduler, req, 32);
        QCOMPARE(std::string(stopReasonName(r.stats.stopReason)), std::string("context_full"));
        QCOMPARE(int(r.promptIds.size() + r.tokenIds.size()), 33); // the last sampled token needs no slot
    }

    void cancelStopsAfterTheCurrentToken()
    {
        const Built b = build("tiny");
        Scheduler scheduler({ 2, Partitioner::Auto, 1 });
        GenerationRequest req;
        req.prompt = "abc";
        req.maxTokens = 100;
        req.stopAtEos = false;
        int seen = 0;
        const auto r = generate(b.model, scheduler, req, 128, [&](int32_t, std::string_view) { return ++seen < 5; });
        QCOMPARE(int(r.tokenIds.size()), 5);
        QCOMPARE(std::string(stopReasonName(r.stats.stopReason)), std::string("cancelled"));
    }
};

QTEST_APPLESS_MAIN(TestForward)
#include "test_forward.moc"
