// inspect: what a GGUF file holds, and whether this build can run it.
#include "app/cli/commands.h"

#include "engine/format/ggmltype.h"
#include "engine/format/gguffile.h"
#include "engine/kernels/cpudispatch.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace cli {

CLI::App* addInspect(CLI::App& app, InspectOptions& o)
{
    auto* cmd = app.add_subcommand("inspect", "print a GGUF file's metadata, hyper-parameters and tensor table");
    cmd->add_option("--model,-m", o.path, "GGUF file")->required();
    return cmd;
}

int runInspect(const InspectOptions& o)
{
    const std::string& path = o.path;
    const auto file = std::make_shared<const engine::GgufFile>(engine::GgufFile::open(path));
    std::cout << "file: " << path << "\nGGUF version: " << file->version() << ", " << file->fileSize()
              << " bytes, alignment " << file->alignment() << ", " << file->metadata().size() << " metadata keys, "
              << file->tensors().size() << " tensors\n\nmetadata:\n";
    for (const auto& [key, value] : file->metadata())
        std::cout << "  " << key << " = " << value.toString(6) << "\n";
    try {
        const auto model = engine::Model::fromGguf(file);
        const auto& c = model->config();
        std::cout << "\nmodel: " << c.architecture << " '" << c.name << "', " << model->parameterCount()
                  << " parameters, " << model->typeSummary() << "\n  dim " << c.dim << ", layers " << c.layers
                  << ", heads " << c.heads << " (KV heads " << c.kvHeads << ", head dim " << c.headDim
                  << "), feed-forward " << c.hidden << ", vocab " << c.vocab << ", context " << c.contextLength
                  << ", rope base " << c.ropeBase << ", rms eps " << c.rmsEps
                  << (model->tiedEmbeddings() ? ", tied embeddings" : "")
                  << "\n  kernels: " << engine::cpuIsaName(engine::activeCpuIsa())
                  << " (best on this CPU: " << engine::cpuIsaName(engine::bestCpuIsa()) << ")\n  rope: " << c.ropeDims
                  << " of " << c.headDim << " head dims, " << (c.ropeInterleaved ? "interleaved" : "NeoX")
                  << " pairs, scaling " << engine::ropeScalingName(c.ropeScaling);
        if (c.ropeScaling != engine::RopeScaling::None)
            std::cout << " factor " << c.ropeScaleFactor << " (original context " << c.ropeOriginalContext << ")";
        std::cout << ", frequency factors " << (c.ropeFreqFactors.empty() ? "no" : "yes")
                  << (c.qkNorm ? ", q/k norms" : "")
                  << "\n  weights read per token: " << model->weightBytesPerToken() / (1 << 20) << " MiB\n";
    } catch (const std::exception& e) {
        std::cout << "\nnot runnable here: " << e.what() << "\n";
        try {
            const engine::Tokenizer tok(engine::Vocabulary::fromGguf(*file));
            std::cout << "tokenizer: " << tok.vocab().model << ", " << tok.size() << " tokens\n";
        } catch (const std::exception&) {
        }
    }
    std::cout << "\ntensors:\n";
    for (const auto& t : file->tensors()) {
        std::string dims;
        for (size_t i = 0; i < t.dims.size(); ++i)
            dims += (i ? " x " : "") + std::to_string(t.dims[i]);
        std::printf("  %-32s %-6s %-20s %12llu bytes @ %llu\n", t.name.c_str(), engine::ggmlTypeName(t.type),
            dims.c_str(), (unsigned long long)t.nbytes, (unsigned long long)t.fileOffset);
    }
    return 0;
}

} // namespace cli
