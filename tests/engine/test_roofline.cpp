// Tests for engine/measure/roofline: op costs against hand-computed bytes and FLOPs for a known shape, the
// machine's ceilings and the bound they imply, the cached machine figures, and per-op stats of a real run.
#include "engine/kernels/int8gemm.h"
#include "engine/measure/roofline.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/synthetic.h"
#include "engine/run/run.h"
#include "handtrace.h"

#include <QtTest>

#include <algorithm>
#include <map>

#include <fstream>

using namespace engine;

namespace {

// The tiny shape: dim 128, 4 layers, 4 heads (head dim 32), 2 KV heads (kvDim 64), hidden 384, vocab 512.
std::shared_ptr<const Model> tinyModel(GgmlType type)
{
    SyntheticShape shape = syntheticShape("tiny");
    shape.type = type;
    return makeSyntheticModel(shape);
}

MachinePeaks handPeaks() { return handtrace::peaks(); }

} // namespace

class TestRoofline : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void matmulCostsFromShapes()
    {
        const auto model = tinyModel(GgmlType::F32);
        // attn_q, one token: 128 × 128 F32 weights, 128 floats in, 128 out.
        OpCost c = opCost(*model, Op::AttnQ, 0, 1, 0);
        QVERIFY(c.modelled);
        QCOMPARE(c.bytes, 128.0 * 128 * 4 + 4 * (128 + 128));
        QCOMPARE(c.flops, 2.0 * 128 * 128);
        // attn_k, three tokens: 64 × 128 weights, 3·128 in, 3·64 out.
        c = opCost(*model, Op::AttnK, 2, 3, 0);
        QCOMPARE(c.bytes, 64.0 * 128 * 4 + 4 * 3 * (128 + 64));
        QCOMPARE(c.flops, 2.0 * 3 * 64 * 128);
        // logits: the 512 × 128 output matrix.
        c = opCost(*model, Op::Logits, -1, 1, 9);
        QCOMPARE(c.bytes, 512.0 * 128 * 4 + 4 * (128 + 512));
        QCOMPARE(c.flops, 2.0 * 512 * 128);
        // gate and up fused: two 384 × 128 matrices, 128 in, 384 out, plus silu · up (4 FLOPs per output).
        c = opCost(*model, Op::FfnGateUp, 1, 1, 0);
        QCOMPARE(c.bytes, 2.0 * 384 * 128 * 4 + 4 * (128 + 384));
        QCOMPARE(c.flops, 2.0 * 2 * 384 * 128 + 4 * 384);
    }

    void quantisedWeightsCountStoredBytes()
    {
        // F16: 2 bytes a weight, so a 128-wide row is 256 bytes; activations stay F32.
        const auto model = tinyModel(GgmlType::F16);
        const OpCost c = opCost(*model, Op::AttnQ, 0, 1, 0);
        QCOMPARE(c.bytes, 128.0 * 256 + 4 * (128 + 128));
        QCOMPARE(c.flops, 2.0 * 128 * 128);
    }

    void attentionCostGrowsWithTheContext()
    {
        const auto model = tinyModel(GgmlType::F32);
        // Two queries at positions 5 and 6 see 6 and 7 keys (causal): K and V 7 × 64 floats each, q and out 2 × 128
        // each; 4 heads × 13 (query, key) pairs × (2·hd for the score + 2·hd for the weighted sum).
        const OpCost c = opCost(*model, Op::Attention, 0, 2, 5);
        QCOMPARE(c.bytes, 4.0 * (2 * 7 * 64 + 2 * 2 * 128));
        QCOMPARE(c.flops, 4.0 * 4 * (6 + 7) * 32);
        // Decode: one query at position 9 sees 10 keys.
        QCOMPARE(opCost(*model, Op::Attention, 0, 1, 9).flops, 4.0 * 4 * 10 * 32);
        QVERIFY(!opCost(*model, Op::Sampling, -1, 1, 0).modelled);
        QVERIFY(!opCost(*model, Op::Serial, 0, 1, 0).modelled);
    }

    void residualAndQuantizeCostsFromShapes()
    {
        const auto f32 = tinyModel(GgmlType::F32);
        // residual, three tokens: x and the sub-layer's output read, x written (3 · 128 floats each); one add each.
        OpCost c = opCost(*f32, Op::Residual, 1, 3, 0);
        QVERIFY(c.modelled);
        QCOMPARE(c.bytes, 4.0 * 3 * 3 * 128);
        QCOMPARE(c.flops, 3.0 * 128);
        QVERIFY(!opCost(*f32, Op::Quantize, 0, 1, 0).modelled); // F32 weights: nothing quantised
        // Q8_0 decode: the integer dots read four quantised inputs a layer, of 128 (attention input), 128 (attention
        // output, 4 heads × 32), 128 (feed-forward input) and 384 (hidden) values: a call costs their mean, 192
        // floats read, 192 int8 and 6 blocks × 16 bytes written, 2 FLOPs a value.
        const auto q8 = tinyModel(GgmlType::Q8_0);
        c = opCost(*q8, Op::Quantize, 2, 1, 0);
        QVERIFY(c.modelled);
        QCOMPARE(c.bytes, 192.0 * 4 + 192 + 6 * 16);
        QCOMPARE(c.flops, 2.0 * 192);
        // The logits' input, 128 values.
        c = opCost(*q8, Op::Quantize, -1, 1, 0);
        QCOMPARE(c.bytes, 128.0 * 4 + 128 + 4 * 16);
    }

    void ceilingsAndBound()
    {
        const MachinePeaks p = handPeaks();
        QCOMPARE(p.bandwidthGBps(1), 10.0);
        QCOMPARE(p.bandwidthGBps(2), 20.0);
        QCOMPARE(p.bandwidthGBps(3), 25.0); // 30 capped by the all-core figure
        QCOMPARE(p.bandwidthGBps(16), 25.0);
        QCOMPARE(p.peakGflops(2), 100.0);
        QCOMPARE(p.peakGflops(4), 200.0);
        QCOMPARE(p.ridge(1), 5.0);
        QCOMPARE(p.ridge(4), 8.0);

        OpStats s;
        s.modelled = true;
        s.bytes = 1000;
        s.flops = 2000; // 2 FLOPs per byte: below every ridge
        s.elapsedNs = 200; // 5 GB/s, 10 GFLOP/s
        QCOMPARE(s.gbps(), 5.0);
        QCOMPARE(s.gflops(), 10.0);
        QCOMPARE(s.bound(p, 1), Bound::Memory);
        QCOMPARE(s.ceilingShare(p, 1), 10.0 / (10.0 * 2)); // ceiling 10 GB/s × 2 FLOP/B = 20 GFLOP/s
        s.flops = 10000; // 10 FLOPs per byte: above the one-lane ridge (5), below none at 4 lanes (8)
        QCOMPARE(s.bound(p, 1), Bound::Compute);
        QCOMPARE(s.bound(p, 4), Bound::Compute);
        s.flops = 7000;
        QCOMPARE(s.bound(p, 1), Bound::Compute);
        QCOMPARE(s.bound(p, 4), Bound::Memory);
        s.modelled = false;
        QCOMPARE(s.bound(p, 1), Bound::None);
    }

    void cachedPeaksAreReadForTheSameMachineOnly()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("roofline.json").toStdString();
        // The figures a cache holds are used only for this CPU and core count: write them as a measurement would.
        MachinePeaks mine = handPeaks();
        mine.cores = Scheduler::hardwareThreads();
        mine.fmaKernel = fmaKernelName();
        {
            // machinePeaks keys the cache by the CPU model of /proc/cpuinfo; read it the same way the engine does.
            std::ifstream cpuinfo("/proc/cpuinfo");
            std::string line;
            while (std::getline(cpuinfo, line))
                if (line.rfind("model name", 0) == 0) {
                    mine.cpu = line.substr(line.find(':') + 2);
                    break;
                }
            if (mine.cpu == "hand")
                mine.cpu = "unknown CPU";
        }
        std::ofstream(path) << toJson(mine).dump();
        const MachinePeaks read = machinePeaks(path);
        QVERIFY(read.fromCache);
        QCOMPARE(read.bandwidthGBps1, 10.0);
        QCOMPARE(read.peakGflopsAll, 200.0);
        QVERIFY(peaksFitThisProcess(mine));
        // Figures of another core count, CPU or FMA kernel (an avx512 cache read by a PLAYGROUND_ISA=avx2 run) are not.
        MachinePeaks other = mine;
        other.cores += 1;
        QVERIFY(!peaksFitThisProcess(other));
        other = mine;
        other.cpu += " v2";
        QVERIFY(!peaksFitThisProcess(other));
        other = mine;
        other.fmaKernel = other.fmaKernel == "scalar" ? "avx512" : "scalar";
        QVERIFY(!peaksFitThisProcess(other));

        QVERIFY(!machinePeaksFromJson(nlohmann::json::parse("{\"cpu\":\"x\"}")));
        QVERIFY(!machinePeaksFromJson(nlohmann::json::parse("[1,2]")));
        nlohmann::json zero = toJson(mine);
        zero["peak_gflops_1"] = 0;
        QVERIFY(!machinePeaksFromJson(zero));
    }

    void fmaProbeMeasuresSomething()
    {
        // Not a speed assertion: the probe runs, and a 2-FLOP FMA loop at any clock above 100 MHz exceeds 0.1.
        const double g = measurePeakGflops(1, 0.03);
        QVERIFY2(g > 0.1, qPrintable(QString::number(g)));
        QVERIFY(QByteArray(fmaKernelName()).size() > 0);
    }

    void opStatsOfARealRun()
    {
        const auto model = tinyModel(GgmlType::F32);
        RunRequest request;
        request.prompts = { "once upon a time" };
        request.maxTokens = 4; // the first from prefill, then 3 decode steps
        request.sampling.temperature = 0;
        request.stopAtEos = false;
        request.scheduler.threads = 2;
        const RunResult run = executeRun(model, request);
        const auto stats = opStats(run, *model);
        auto find = [&](Op op, Phase phase) -> const OpStats* {
            for (const OpStats& s : stats)
                if (s.op == op && s.phase == phase)
                    return &s;
            return nullptr;
        };
        const OpStats* q = find(Op::AttnQ, Phase::Decode);
        QVERIFY(q);
        QCOMPARE(q->calls, uint64_t(4 * 3)); // 4 layers × 3 decode steps
        QCOMPARE(q->bytes, 12.0 * (128.0 * 128 * 4 + 4 * (128 + 128)));
        QVERIFY(q->elapsedNs > 0 && q->elapsedNs <= q->busyNs * 2);
        const OpStats* norms = find(Op::RmsNorm, Phase::Decode);
        QVERIFY(norms);
        QCOMPARE(norms->calls, uint64_t(3 * (2 * 4 + 1))); // two per layer and the final one, per step
        const OpStats* logits = find(Op::Logits, Phase::Prefill);
        QVERIFY(logits);
        QCOMPARE(logits->calls, uint64_t(1)); // only the last prompt token's logits
        QVERIFY(find(Op::Logits, Phase::Decode));
        QCOMPARE(find(Op::Logits, Phase::Decode)->calls, uint64_t(3));
        // Serial sections are counted as such: the norms always, RoPE in decode (one token) ...
        QCOMPARE(norms->serialChunks, norms->chunks);
        const OpStats* ropeDecode = find(Op::Rope, Phase::Decode);
        QVERIFY(ropeDecode);
        QCOMPARE(ropeDecode->serialChunks, uint64_t(4 * 3));
        QCOMPARE(find(Op::AttnQ, Phase::Decode)->serialChunks, uint64_t(0));
    }

    // The parts of one region (q, k and v) interleave on the lanes: their first-to-last spans overlap, and each is
    // charged the region's span in proportion to its busy time, so the parts add up to the region, not to more.
    void partsOfOneRegionShareItsSpan()
    {
        const auto model = tinyModel(GgmlType::F32);
        RunResult run;
        auto chunk = [](int worker, int64_t begin, int64_t end, Op op) {
            TraceEvent e = handtrace::event(worker, begin, end, op);
            e.layer = 0;
            e.tokens = 1;
            return e;
        };
        run.trace = { chunk(0, 0, 100, Op::AttnQ), chunk(0, 100, 200, Op::AttnQ), chunk(1, 30, 130, Op::AttnK),
            chunk(1, 130, 250, Op::AttnV), chunk(0, 200, 260, Op::AttnK), chunk(0, 300, 400, Op::AttnOut) };
        run.metrics.prefillEndNs = 1000;
        run.metrics.wallNs = 1000;
        const auto stats = opStats(run, *model);
        auto elapsed = [&](Op op) {
            for (const OpStats& s : stats)
                if (s.op == op)
                    return s.elapsedNs;
            return int64_t(-1);
        };
        // Span 0..260 shared by busy time 200 : 160 : 120 (by hand: 108.3, 86.7, 65).
        QCOMPARE(elapsed(Op::AttnQ), int64_t(108));
        QCOMPARE(elapsed(Op::AttnK), int64_t(87));
        QCOMPARE(elapsed(Op::AttnV), int64_t(65));
        QCOMPARE(elapsed(Op::AttnOut), int64_t(100)); // a region of its own keeps its span
    }

    // ... but not RoPE of a prompt of 16 tokens or more, which runs per head in parallel: one call per layer, its
    // chunks covering every head.
    void ropeOfALongPromptIsAParallelRegion()
    {
        const auto model = tinyModel(GgmlType::F32);
        RunRequest request;
        request.prompts = { "one two three four five six seven eight nine ten eleven twelve thirteen fourteen" };
        request.maxTokens = 1;
        request.sampling.temperature = 0;
        request.stopAtEos = false;
        request.scheduler.threads = 2;
        const RunResult run = executeRun(model, request);
        QVERIFY(run.sequences[0].promptIds.size() >= 16);
        const auto stats = opStats(run, *model);
        const auto rope = std::find_if(
            stats.begin(), stats.end(), [](const OpStats& s) { return s.op == Op::Rope && s.phase == Phase::Prefill; });
        QVERIFY(rope != stats.end());
        QCOMPARE(rope->serialChunks, uint64_t(0));
        QCOMPARE(rope->calls, uint64_t(model->config().layers));
        const uint32_t heads = uint32_t(model->config().heads + model->config().kvHeads);
        std::map<int, uint32_t> covered; // layer → heads covered by its chunks
        for (const TraceEvent& e : run.trace)
            if (e.op == Op::Rope && e.tokens >= 16)
                covered[e.layer] += e.last - e.first;
        QCOMPARE(int(covered.size()), model->config().layers);
        for (const auto& [layer, n] : covered)
            QCOMPARE(n, heads);
    }

    // The per-token steps too: from 16 tokens on, with at least two blocks of 8192 values to share (64 tokens of the
    // tiny shape's 128), a layer's two norms, two residual adds and (quantised weights) the matmul inputs'
    // quantisation for the integer kernels are parallel regions over the tokens, each region's chunks covering every
    // token once; opStats counts one call per region, though a layer's norms share every trace key. Decode and the
    // single row of the final norm run serial sections under the same names: nothing is "serial".
    void perTokenStepsOfALongPromptAreParallelRegions()
    {
        const auto model = tinyModel(GgmlType::Q8_0);
        RunRequest request;
        std::string prompt;
        for (int i = 0; i < 5; ++i)
            prompt += "one two three four five six seven eight nine ten eleven twelve thirteen fourteen ";
        request.prompts = { prompt };
        request.maxTokens = 3; // the first from prefill, then 2 decode steps
        request.sampling.temperature = 0;
        request.stopAtEos = false;
        request.scheduler.threads = 2;
        const RunResult run = executeRun(model, request);
        const int T = int(run.sequences[0].promptIds.size());
        QVERIFY2(T > 64 && T <= InferenceContext::kMaxBatch, qPrintable(QString::number(T))); // one chunk, 2+ blocks
        const int layers = model->config().layers;
        // Prefill quantises for the integer matrix kernels, used where they are vectorised; decode for the integer
        // dots: the attention input, its output, the feed-forward input and the hidden, and the logits' input.
        const int prefillQuantize = int8GemmVectorised() ? 4 : 0;
        std::map<std::pair<Op, int>, std::vector<int>> covered; // (op, layer) → times each prompt token was covered
        std::map<std::pair<Op, bool>, int> serial; // (op, prefill) → serial sections
        for (const TraceEvent& e : run.trace) {
            if (isMarker(e.op))
                continue;
            QVERIFY2(e.op != Op::Serial, "a section left unnamed");
            if (e.op != Op::RmsNorm && e.op != Op::Residual && e.op != Op::Quantize)
                continue;
            const bool prefill = e.beginNs < run.metrics.prefillEndNs;
            if (e.first == e.last) {
                ++serial[{ e.op, prefill }];
                continue;
            }
            QVERIFY(prefill && e.layer >= 0 && e.tokens == T);
            QVERIFY(e.first < e.last && e.last <= uint32_t(T));
            auto& c = covered[{ e.op, e.layer }];
            c.resize(size_t(T));
            for (uint32_t t = e.first; t < e.last; ++t)
                ++c[t];
        }
        auto count = [&](Op op, bool prefill) { return serial[{ op, prefill }]; };
        for (const auto& [op, regions] : { std::pair { Op::RmsNorm, 2 }, std::pair { Op::Residual, 2 },
                 std::pair { Op::Quantize, prefillQuantize } })
            for (int l = 0; l < layers; ++l) {
                const auto it = covered.find(std::pair { op, l });
                if (regions == 0) {
                    QVERIFY(it == covered.end());
                    continue;
                }
                QVERIFY2(it != covered.end(), opName(op));
                for (int n : it->second)
                    QCOMPARE(n, regions);
            }
        // Prefill's serial sections: the final norm of the one row whose logits are wanted, and its quantisation.
        QCOMPARE(count(Op::RmsNorm, true), 1);
        QCOMPARE(count(Op::Residual, true), 0);
        QCOMPARE(count(Op::Quantize, true), 1);
        // Two decode steps, each per layer two norms, two residual adds, four quantisations, then the final ones.
        QCOMPARE(count(Op::RmsNorm, false), 2 * (2 * layers + 1));
        QCOMPARE(count(Op::Residual, false), 2 * 2 * layers);
        QCOMPARE(count(Op::Quantize, false), 2 * (4 * layers + 1));

        const auto stats = opStats(run, *model);
        auto find = [&](Op op, Phase phase) {
            const auto it = std::find_if(
                stats.begin(), stats.end(), [&](const OpStats& s) { return s.op == op && s.phase == phase; });
            return it == stats.end() ? OpStats {} : *it;
        };
        QCOMPARE(find(Op::RmsNorm, Phase::Prefill).calls, uint64_t(2 * layers + 1));
        QCOMPARE(find(Op::Residual, Phase::Prefill).calls, uint64_t(2 * layers));
        QCOMPARE(find(Op::Residual, Phase::Prefill).serialChunks, uint64_t(0));
        QCOMPARE(find(Op::Quantize, Phase::Prefill).calls, uint64_t(prefillQuantize * layers + 1));
        // Calls split per region, each with its own cost: the two norms of a layer are two norms' bytes.
        QCOMPARE(find(Op::Residual, Phase::Prefill).bytes, 2.0 * layers * opCost(*model, Op::Residual, 0, T, 0).bytes);
    }
};

QTEST_GUILESS_MAIN(TestRoofline)
#include "test_roofline.moc"
