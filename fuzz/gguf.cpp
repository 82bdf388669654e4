// Fuzz target: the GGUF reader (header, metadata, tensor table), then, on what it accepted, the vocabulary, the
// tokenizer, the model loader and one forward step of two tokens.
// Fine: ModelFileError (the reader's and loader's refusal, naming the byte), std::runtime_error from the tokenizer
// ("not supported") and std::invalid_argument from the context (a KV cache beyond memory). Anything else is a
// finding: a crash, a sanitizer report, another exception, an allocation beyond -malloc_limit_mb, a timeout.
// Bounded: the weights live in the input (every tensor is checked against the file's size), and the forward step
// gets a context of at most 16 positions, so a model's claimed context length costs nothing here.
#include "fuzzsupport.h"

#include "engine/format/gguffile.h"
#include "engine/model/inferencecontext.h"
#include "engine/model/model.h"
#include "engine/parallel/scheduler.h"
#include "engine/text/chattemplate.h"
#include "engine/text/vocabulary.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace {

void readMetadata(const engine::GgufFile& file)
{
    for (const auto& [key, value] : file.metadata()) {
        (void)value.toString();
        if (value.type() == engine::GgufValueType::Array) {
            for (size_t i = 0; i < value.arraySize() && i < 64; ++i)
                (void)value.arrayElement(i).toString();
        }
        if (file.find(key) == nullptr)
            std::abort(); // a key the reader listed but cannot find
    }
    for (const auto& tensor : file.tensors()) {
        if (file.findTensor(tensor.name) == nullptr)
            std::abort();
        if (tensor.fileOffset + tensor.nbytes > file.fileSize())
            std::abort(); // the reader promises every tensor lies inside the file
    }
}

void runModel(std::shared_ptr<const engine::GgufFile> file)
{
    std::shared_ptr<const engine::Model> model;
    try {
        model = engine::Model::fromGguf(std::move(file));
    } catch (const engine::ModelFileError&) {
        return;
    } catch (const std::runtime_error&) {
        return; // the tokenizer refuses a vocabulary kind it does not support
    }
    const engine::ModelConfig& c = model->config();
    static engine::Scheduler scheduler(engine::SchedulerOptions {});
    std::unique_ptr<engine::InferenceContext> context;
    try {
        context = std::make_unique<engine::InferenceContext>(model, std::min(16, std::max(c.contextLength, 2)));
    } catch (const std::invalid_argument&) {
        return;
    }
    std::vector<int32_t> tokens = model->tokenizer().encode("In the", false, false);
    tokens.resize(2, 0);
    for (int32_t& t : tokens)
        t = t >= 0 && t < c.vocab ? t : 0;
    try {
        const auto logits = context->eval(scheduler, tokens);
        if (logits.size() != size_t(c.vocab))
            std::abort();
    } catch (const engine::ModelFileError&) {
        return; // NaN or Inf weights, named after the first step's logits (a refusal, not a finding)
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::shared_ptr<const engine::GgufFile> file;
    try {
        file = std::make_shared<const engine::GgufFile>(engine::GgufFile::fromMemory({ data, size }, "fuzz.gguf"));
    } catch (const engine::ModelFileError&) {
        return 0;
    }
    readMetadata(*file);
    (void)engine::detectChatTemplate(*file);
    try {
        engine::Tokenizer tokenizer(engine::Vocabulary::fromGguf(*file));
        const auto ids = tokenizer.encode("Hello, <|im_start|> world \xff", true, true);
        for (const int32_t id : ids)
            (void)tokenizer.tokenBytes(id);
    } catch (const engine::ModelFileError&) {
        return 0;
    } catch (const std::runtime_error&) {
        return 0;
    }
    runModel(std::move(file));
    return 0;
}
