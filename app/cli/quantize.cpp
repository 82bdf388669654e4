// quantize: a GGUF model rewritten with its matrices in a block format; or a synthetic model written out.
#include "app/cli/commands.h"

#include "engine/format/ggmltype.h"
#include "engine/kernels/modelquantizer.h"
#include "engine/model/synthetic.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace cli {

namespace {

// Deletes the intermediate F32 file of a synthetic model however quantisation ends.
struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit()
    {
        if (!path.empty())
            std::remove(path.c_str());
    }
};

} // namespace

CLI::App* addQuantize(CLI::App& app, QuantizeOptions& o)
{
    auto* cmd = app.add_subcommand("quantize", "write a copy of a GGUF model with its matrices quantised");
    auto* modelOpt = cmd->add_option("--model,-m", o.in, "input GGUF file");
    auto* syntheticOpt = cmd->add_option("--synthetic", o.synthetic,
        "input: random weights in a named shape (tiny, 15M, 110M, 1B); with --type F32 written as they are");
    modelOpt->excludes(syntheticOpt);
    cmd->add_option("--type", o.type,
           "Q8_0, Q4_0, Q5_0, Q4_K_M (or Q4_K), Q5_K_M (or Q5_K), Q6_K, F16, BF16 or F32, each tensor's type "
           "chosen as llama-quantize does")
        ->required();
    cmd->add_option("--chat-template", o.chatTemplate,
           "with --synthetic: write this tokenizer.chat_template (a family name such as chatml or llama3, or Jinja), "
           "to try chat mode without a downloaded model")
        ->needs(syntheticOpt);
    auto* outOpt = cmd->add_option("--out,-o", o.out, "output GGUF file");
    auto* dryOpt = cmd->add_flag("--dry-run", o.dryRun, "print the type each tensor would get; write nothing");
    outOpt->excludes(dryOpt);
    return cmd;
}

int runQuantize(const QuantizeOptions& o)
{
    if (o.in.empty() == o.synthetic.empty())
        throw UsageError("quantize needs --model FILE or --synthetic SHAPE");
    const auto type = engine::quantizeTargetFromName(o.type);
    if (!type)
        throw UsageError("--type must be one of Q8_0, Q4_0, Q5_0, Q4_K_M, Q5_K_M, Q6_K, F16, BF16, F32");
    // A synthetic model in F32 is written as generated, without a second pass.
    const bool plainF32 = !o.synthetic.empty() && *type == engine::GgmlType::F32;
    if (o.out.empty() && !o.dryRun)
        throw UsageError("quantize needs --out FILE (or --dry-run)");
    if (o.dryRun && !o.synthetic.empty())
        throw UsageError("--dry-run needs --model FILE");
    std::string in = o.in;
    RemoveOnExit temporary;
    // Random weights in a named shape: written as a GGUF file first, so that benchmarks can run the
    // same shape from a file, in F32 or quantised.
    if (!o.synthetic.empty()) {
        const engine::SyntheticShape* named = nullptr;
        asUsageError([&] { named = &engine::syntheticShape(o.synthetic); });
        engine::SyntheticShape shape = *named;
        shape.chatTemplate = o.chatTemplate;
        engine::requireMemoryForSynthetic(shape); // before building it, as every synthetic model
        const std::vector<uint8_t> bytes = engine::syntheticModelGguf(shape);
        in = plainF32 ? o.out : o.out + ".f32.tmp";
        if (!plainF32)
            temporary.path = in;
        std::ofstream f(in, std::ios::binary);
        if (!f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())) || !f.flush())
            throw std::runtime_error("cannot write " + in);
        if (plainF32) {
            std::printf("synthetic %s -> %s (F32): %.1f MiB\n", o.synthetic.c_str(), o.out.c_str(),
                double(bytes.size()) / (1 << 20));
            return 0;
        }
    }
    const auto report = o.dryRun ? engine::planModelQuantization(in, *type) : engine::quantizeModel(in, o.out, *type);
    for (const auto& t : report.tensors)
        std::printf("  %-32s %-5s -> %-5s %12llu -> %12llu bytes %s\n", t.name.c_str(), engine::ggmlTypeName(t.from),
            engine::ggmlTypeName(t.to), (unsigned long long)t.bytesBefore, (unsigned long long)t.bytesAfter,
            t.note.c_str());
    std::string types;
    for (const auto& [t, n] : report.countByType())
        types += std::string(types.empty() ? "" : ", ") + engine::ggmlTypeName(t) + " " + std::to_string(n);
    std::printf("types: %s\n", types.c_str());
    const std::string target = engine::quantizeTargetName(*type);
    if (o.dryRun) {
        std::printf("%s (%s, dry run, nothing written): %d tensors would be quantised, %d kept; tensors %.1f MiB -> "
                    "%.1f MiB\n",
            in.c_str(), target.c_str(), report.convertedCount(), report.keptCount(),
            double(report.tensorBytesBefore) / (1 << 20), double(report.tensorBytesAfter) / (1 << 20));
        return 0;
    }
    std::printf("%s -> %s (%s): %d tensors quantised, %d kept; %.1f MiB -> %.1f MiB in %.1f s\n",
        o.synthetic.empty() ? in.c_str() : ("synthetic " + o.synthetic).c_str(), o.out.c_str(), target.c_str(),
        report.convertedCount(), report.keptCount(), double(report.fileBytesBefore) / (1 << 20),
        double(report.fileBytesAfter) / (1 << 20), report.seconds);
    return 0;
}

} // namespace cli
