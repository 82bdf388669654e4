#include "engine/run/runsettings.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace engine {

namespace {

// Reads `key` into `out` when present; a value of the wrong type becomes a readable error.
template <typename T> void read(const nlohmann::json& json, const char* key, T& out)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null())
        return;
    try {
        out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw std::invalid_argument(std::string("run settings: \"") + key + "\" has the wrong type: " + it->dump());
    }
}

// Integers must be whole JSON numbers (no 2.5 threads, no "4").
template <typename T> void readInteger(const nlohmann::json& json, const char* key, T& out)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null())
        return;
    if (!it->is_number_integer())
        throw std::invalid_argument(std::string("run settings: \"") + key + "\" must be an integer, got " + it->dump());
    read(json, key, out);
}

void readFloat(const nlohmann::json& json, const char* key, float& out)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null())
        return;
    if (!it->is_number())
        throw std::invalid_argument(std::string("run settings: \"") + key + "\" must be a number, got " + it->dump());
    out = it->get<float>();
}

// The double whose shortest decimal form is the float's (0.55f is stored as 0.55, not as
// 0.550000011920929); reading it back as a float gives the same float.
double shortestDecimal(float value)
{
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer) - 1, value);
    if (ec != std::errc())
        return double(value);
    *end = '\0';
    return std::strtod(buffer, nullptr);
}

} // namespace

nlohmann::json toJson(const RunRequest& r)
{
    return {
        { "prompts", r.prompts },
        { "system", r.systemPrompt },
        { "chat", r.chat },
        { "temperature", shortestDecimal(r.sampling.temperature) },
        { "top_k", r.sampling.topK },
        { "top_p", shortestDecimal(r.sampling.topP) },
        { "min_p", shortestDecimal(r.sampling.minP) },
        { "repeat_penalty", shortestDecimal(r.sampling.repeatPenalty) },
        { "repeat_last_n", r.sampling.repeatLastN },
        { "seed", r.sampling.seed },
        { "max_tokens", r.maxTokens },
        { "add_bos", r.addBos },
        { "stop_at_eos", r.stopAtEos },
        { "strategy", strategyName(r.strategy) },
        { "threads", r.scheduler.threads },
        { "partitioner", partitionerName(r.scheduler.partitioner) },
        { "grain", r.scheduler.grain },
        { "pin_threads", r.scheduler.pinThreads },
        { "context_length", r.contextLength },
        { "allow_context_overflow", r.allowContextOverflow },
        { "trace", r.trace },
    };
}

RunRequest runRequestFromJson(const nlohmann::json& json)
{
    if (!json.is_object())
        throw std::invalid_argument("run settings must be a JSON object, got " + std::string(json.type_name()));
    RunRequest r;
    read(json, "prompts", r.prompts);
    read(json, "system", r.systemPrompt);
    read(json, "chat", r.chat);
    readFloat(json, "temperature", r.sampling.temperature);
    readInteger(json, "top_k", r.sampling.topK);
    readFloat(json, "top_p", r.sampling.topP);
    readFloat(json, "min_p", r.sampling.minP);
    readFloat(json, "repeat_penalty", r.sampling.repeatPenalty);
    readInteger(json, "repeat_last_n", r.sampling.repeatLastN);
    if (const auto it = json.find("seed"); it != json.end() && !it->is_null() && !it->is_number_unsigned()
        && !(it->is_number_integer() && it->get<int64_t>() >= 0))
        throw std::invalid_argument("run settings: \"seed\" must be an integer >= 0, got " + it->dump());
    readInteger(json, "seed", r.sampling.seed);
    readInteger(json, "max_tokens", r.maxTokens);
    read(json, "add_bos", r.addBos);
    read(json, "stop_at_eos", r.stopAtEos);
    std::string name;
    read(json, "strategy", name);
    if (!name.empty()) {
        const auto s = strategyFromName(name);
        if (!s)
            throw std::invalid_argument("run settings: unknown strategy \"" + name + "\"");
        r.strategy = *s;
    }
    readInteger(json, "threads", r.scheduler.threads);
    name.clear();
    read(json, "partitioner", name);
    if (!name.empty()) {
        const auto p = partitionerFromName(name);
        if (!p)
            throw std::invalid_argument("run settings: unknown partitioner \"" + name + "\"");
        r.scheduler.partitioner = *p;
    }
    if (const auto it = json.find("grain"); it != json.end() && it->is_number_integer() && it->get<int64_t>() < 1)
        throw std::invalid_argument("run settings: \"grain\" must be at least 1, got " + it->dump());
    readInteger(json, "grain", r.scheduler.grain);
    read(json, "pin_threads", r.scheduler.pinThreads);
    readInteger(json, "context_length", r.contextLength);
    read(json, "allow_context_overflow", r.allowContextOverflow); // absent in older files: false
    read(json, "trace", r.trace);

    // The same limits as a run, except that an empty prompt list is fine here.
    if (r.prompts.size() > 256)
        throw std::invalid_argument("run settings: at most 256 prompts, got " + std::to_string(r.prompts.size()));
    if (r.maxTokens < 0 || r.maxTokens > (1 << 20))
        throw std::invalid_argument(
            "run settings: \"max_tokens\" must be between 0 and 1048576, got " + std::to_string(r.maxTokens));
    if (r.contextLength < 0 || r.contextLength > (1 << 20))
        throw std::invalid_argument("run settings: \"context_length\" must be between 0 (model default) and 1048576, "
                                    "got "
            + std::to_string(r.contextLength));
    try {
        r.sampling.validate();
        r.scheduler.validate();
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("run settings: ") + e.what());
    }
    return r;
}

} // namespace engine
