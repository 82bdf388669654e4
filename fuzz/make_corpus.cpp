// Writes the fuzzers' seed corpora: valid inputs for each target, made by the engine's own writers, so the
// fuzzers start from files the readers accept and mutate from there. Nothing here is committed: scripts/fuzz.sh
// runs `fuzz_make_corpus <dir>` and gets <dir>/<target>/ for every target.
#include "session/sessionfile.h"

#include "engine/format/ggufwriter.h"
#include "engine/measure/analysisreport.h"
#include "engine/measure/sweep.h"
#include "engine/measure/traceexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/run.h"
#include "engine/text/chattemplate.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

std::string asString(const std::vector<uint8_t>& bytes) { return { bytes.begin(), bytes.end() }; }

// Models small enough that a mutation and a forward step take well under a millisecond: a vocabulary just
// above the 259 special and byte tokens, one or two layers of width 32 (a multiple of the 32-value blocks).
engine::SyntheticShape fuzzShape(const std::string& name, engine::GgmlType type)
{
    engine::SyntheticShape s { name, 32, 1, 2, 1, 64, 300, 64, type, false, "fuzz seed" };
    return s;
}

std::vector<engine::SyntheticShape> seedShapes()
{
    using engine::GgmlType;
    std::vector<engine::SyntheticShape> shapes;
    shapes.push_back(fuzzShape("f32", GgmlType::F32));
    shapes.push_back(fuzzShape("q8_0", GgmlType::Q8_0));
    shapes.push_back(fuzzShape("q4_0", GgmlType::Q4_0));
    auto tied = fuzzShape("f16-tied", GgmlType::F16);
    tied.tied = true;
    tied.layers = 2;
    tied.chatTemplate = "chatml";
    shapes.push_back(tied);
    auto qwen2 = fuzzShape("qwen2", GgmlType::F32);
    qwen2.architecture = "qwen2";
    qwen2.ropeScaling = "yarn";
    qwen2.ropeScaleFactor = 4;
    qwen2.ropeOriginalContext = 32;
    shapes.push_back(qwen2);
    auto qwen3 = fuzzShape("qwen3", GgmlType::BF16);
    qwen3.architecture = "qwen3";
    qwen3.headDim = 32;
    shapes.push_back(qwen3);
    auto llama3 = fuzzShape("llama3", GgmlType::F32);
    llama3.llama3RopeFreqs = true;
    llama3.ropeScaling = "llama3";
    llama3.ropeScaleFactor = 8;
    llama3.ropeOriginalContext = 32;
    shapes.push_back(llama3);
    return shapes;
}

void ggufSeeds(const fs::path& dir)
{
    for (const auto& shape : seedShapes())
        writeFile(dir / (shape.name + ".gguf"), asString(engine::syntheticModelGguf(shape, 7)));
}

void tokenizerSeeds(const fs::path& spm, const fs::path& bpe)
{
    const std::vector<std::string> texts { "In the beginning God created the heaven and the earth.",
        "Hello, world!\n\n  indented\ttab", "<|im_start|>user\nhi<|im_end|>", "<tool> über 日本語 🙂 \xff\xfe",
        "123 4567 and the", "" };
    int n = 0;
    for (const auto& text : texts) {
        for (const char mode : { '\0', '\x06' }) {
            writeFile(spm / ("text" + std::to_string(n)), std::string(1, mode) + text);
            writeFile(bpe / ("text" + std::to_string(n)), std::string(1, mode) + char(n % 12) + text);
            ++n;
        }
    }
    std::string ids;
    for (int id = 0; id < 600; id += 7)
        ids += std::string { char(id & 0xff), char(id >> 8) };
    writeFile(spm / "ids", "\x01" + ids);
    writeFile(bpe / "ids", std::string("\x01\x02") + ids);
}

void chatSeeds(const fs::path& dir)
{
    const int families = int(engine::ChatTemplate::Gemma) + 1;
    for (int f = 0; f < families; ++f) {
        const std::string conversation = std::string("Be brief.\0</s>\0Hello <|im_end|>\0Hi!\0[INST] again", 46);
        writeFile(dir / (std::string(engine::chatTemplateName(engine::ChatTemplate(f))) + "-spm"),
            std::string { char(f), '\x02' } + conversation);
        writeFile(dir / (std::string(engine::chatTemplateName(engine::ChatTemplate(f))) + "-bpe"),
            std::string { char(f), '\x23' } + conversation);
    }
    writeFile(dir / "jinja",
        std::string("\x00\x00\x00\x00hi\x00{% for message in messages %}<|im_start|>{{ message['role'] }}", 66));
}

// A real traced run and a sweep on the smallest seed model, as the window saves them.
void sessionAndTraceSeeds(const fs::path& sessions, const fs::path& traces)
{
    const auto model = engine::makeSyntheticModel(fuzzShape("f32", engine::GgmlType::F32));
    engine::RunRequest request;
    request.prompts = { "Once upon", "The" };
    request.maxTokens = 3;
    request.sampling.temperature = 0;
    request.strategy = engine::Strategy::Request;
    request.scheduler.threads = 2;
    request.systemPrompt = "Be brief.";
    const engine::RunResult result = engine::executeRun(model, request, nullptr);

    session::RunRecord run;
    run.startedAt = session::SessionFile::nowUtc();
    run.settings = request;
    run.sequences = result.sequences;
    run.tokens = { { 0, 5, 0, "a" }, { 1, -1, -1, "" } };
    run.metrics = result.metrics;
    run.threads = result.threads;
    run.strategy = result.strategy;
    run.trace = result.trace;
    engine::MachinePeaks peaks;
    peaks.cpu = "fuzz";
    peaks.cores = 2;
    peaks.bandwidthGBps1 = 10;
    peaks.bandwidthGBpsAll = 16;
    peaks.peakGflops1 = 40;
    peaks.peakGflopsAll = 80;
    peaks.fmaKernel = "avx2";
    peaks.forkJoinNs1 = 200;
    peaks.forkJoinNsAll = 2000;
    run.report = engine::buildRunReport(result, *model, peaks, { 1, 2 });

    engine::SweepRequest sweep;
    sweep.workload = request;
    sweep.workload.trace = false;
    sweep.workload.maxTokens = 1;
    sweep.threads = { 1, 2 };
    sweep.repeat = 1;
    sweep.warmup = 0;
    sweep.strategies = { engine::Strategy::IntraOp };

    session::Session s;
    s.model = session::ModelRef::of("synthetic:fuzz", "fuzz");
    s.settings = request;
    s.runs.push_back(run);
    writeFile(sessions / "one-run.json", session::SessionFile::toJson(s).dump(1));
    s.sweeps.push_back({ session::SessionFile::nowUtc(), engine::runSweep(model, sweep) });
    writeFile(sessions / "run-and-sweep.json", session::SessionFile::toJson(s).dump());
    s.runs.front().trace.clear();
    s.runs.front().report.reset();
    writeFile(sessions / "untraced.json", session::SessionFile::toJson(s).dump());

    engine::TraceMeta meta;
    meta.model = "synthetic:fuzz";
    meta.threads = result.threads;
    meta.strategy = "request";
    const std::string trace = engine::chromeTraceJson(result.trace, meta).dump();
    writeFile(traces / "run", "\x00" + trace);
    writeFile(traces / "run-markers", "\x01" + trace);
    writeFile(traces / "array", "\x01" + engine::chromeTraceJson(result.trace, meta)["traceEvents"].dump());
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR  (writes DIR/<target>/ for every fuzz target)\n", argv[0]);
        return 2;
    }
    const fs::path root = argv[1];
    for (const char* target : { "gguf", "tokenizer_spm", "tokenizer_bpe", "chat_template", "session", "trace_json" })
        fs::create_directories(root / target);
    ggufSeeds(root / "gguf");
    tokenizerSeeds(root / "tokenizer_spm", root / "tokenizer_bpe");
    chatSeeds(root / "chat_template");
    sessionAndTraceSeeds(root / "session", root / "trace_json");
    std::fprintf(stderr, "seed corpora written under %s\n", root.c_str());
    return 0;
}
