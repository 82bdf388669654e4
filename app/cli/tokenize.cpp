// tokenize: a text's token ids, and optionally their pieces, with a model's tokenizer.
#include "app/cli/commands.h"

#include "engine/format/gguffile.h"
#include "engine/text/tokenizer.h"
#include "engine/text/vocabulary.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace cli {

CLI::App* addTokenize(CLI::App& app, TokenizeOptions& o)
{
    auto* cmd = app.add_subcommand("tokenize", "print the token ids of a text");
    o.model.add(cmd);
    cmd->add_option("--text", o.text, "the text")->required();
    cmd->add_flag("--pieces", o.pieces, "also print the pieces");
    cmd->add_flag("--no-bos", o.noBos, "do not prepend the BOS token");
    return cmd;
}

int runTokenize(const TokenizeOptions& o, const std::string& argv0)
{
    std::unique_ptr<engine::Tokenizer> owned;
    std::shared_ptr<const engine::Model> m;
    const engine::Tokenizer* tokenizer = nullptr;
    if (!o.model.synthetic.empty() || o.model.path.empty()) {
        m = o.model.load(argv0);
        tokenizer = &m->tokenizer();
    } else {
        // Only the vocabulary is needed: works on vocab-only files and on any architecture.
        const auto file = engine::GgufFile::open(o.model.path);
        try {
            owned = std::make_unique<engine::Tokenizer>(engine::Vocabulary::fromGguf(file));
        } catch (const engine::ModelFileError&) {
            throw;
        } catch (const std::runtime_error& e) { // an unsupported tokenizer kind: a problem of this file (exit 3)
            throw engine::ModelFileError(file.path(), e.what());
        }
        tokenizer = owned.get();
    }
    const auto ids = tokenizer->encode(o.text, !o.noBos && tokenizer->vocab().addBos && tokenizer->bos() >= 0);
    for (size_t i = 0; i < ids.size(); ++i)
        std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
    if (o.pieces) {
        nlohmann::json list = nlohmann::json::array();
        for (int32_t id : ids)
            list.push_back(tokenizer->piece(id));
        std::cout << list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    return 0;
}

} // namespace cli
