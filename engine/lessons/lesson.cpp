#include "engine/lessons/lesson.h"

#include "engine/lessons/lessonset.h"
#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace engine::lessons {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

} // namespace

std::string ModelChoice::label() const
{
    if (synthetic.empty())
        return "the shipped model";
    std::string s = "synthetic " + synthetic;
    if (matrixType)
        s += std::string(" (") + ggmlTypeName(*matrixType) + ")";
    return s;
}

std::string ModelChoice::key() const
{
    if (synthetic.empty())
        return "default";
    std::string k = "synthetic:";
    k += synthetic;
    if (matrixType) {
        k += ':';
        k += lower(ggmlTypeName(*matrixType));
    }
    return k;
}

std::optional<ModelChoice> parseModelKey(const std::string& key)
{
    if (key == "default")
        return ModelChoice {};
    const std::string prefix = "synthetic:";
    if (key.rfind(prefix, 0) != 0)
        return std::nullopt;
    const std::string rest = key.substr(prefix.size());
    const size_t colon = rest.find(':');
    ModelChoice choice;
    choice.synthetic = rest.substr(0, colon);
    const auto& shapes = syntheticShapes();
    if (std::none_of(shapes.begin(), shapes.end(), [&](const SyntheticShape& s) { return s.name == choice.synthetic; }))
        return std::nullopt;
    if (colon != std::string::npos) {
        const std::string typeName = rest.substr(colon + 1);
        // Only the spelling key() writes, so that a key names one choice.
        const std::optional<GgmlType> type = ggmlTypeFromName(typeName);
        if (!type || typeName != lower(typeName) || !ggmlTypeIsSupported(*type))
            return std::nullopt;
        choice.matrixType = type;
    }
    return choice;
}

std::shared_ptr<const Model> loadModel(const ModelChoice& choice, const std::string& executablePath)
{
    if (choice.synthetic.empty()) {
        const std::string path = defaultModelPath(executablePath);
        if (path.empty())
            throw std::runtime_error(std::string("the shipped model (") + kDefaultModelFile
                + ") was not found next to the program or in the source tree; set PLAYGROUND_MODEL to its path");
        return Model::load(path);
    }
    SyntheticShape shape = syntheticShape(choice.synthetic);
    if (choice.matrixType)
        shape.type = *choice.matrixType; // same seed: the same weights, stored as another type
    return makeSyntheticModel(shape);
}

std::string Measurement::text() const
{
    if (!std::isfinite(value))
        return "n/a";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 6), value);
    std::string number = buf;
    // "-0.0" reads as a sign that is not there.
    if (number.front() == '-' && number.find_first_not_of("-0.") == std::string::npos)
        number.erase(0, 1);
    if (unit.empty())
        return number;
    if (unit == "×" || unit == "%")
        return number + unit;
    return number + " " + unit;
}

void Measured::add(std::string name, double value, std::string unit, int decimals)
{
    if (has(name))
        throw std::logic_error("measurement '" + name + "' added twice");
    values.push_back({ std::move(name), value, std::move(unit), decimals });
}

const Measurement& Measured::at(const std::string& name) const
{
    for (const Measurement& m : values)
        if (m.name == name)
            return m;
    throw std::out_of_range("no measurement named '" + name + "'");
}

bool Measured::has(const std::string& name) const
{
    return std::any_of(values.begin(), values.end(), [&](const Measurement& m) { return m.name == name; });
}

const char* chartPhaseName(ChartPhase p)
{
    switch (p) {
    case ChartPhase::Prefill:
        return "prefill";
    case ChartPhase::Decode:
        return "decode";
    case ChartPhase::Total:
        return "total";
    }
    return "?";
}

const char* focusName(Focus f)
{
    switch (f) {
    case Focus::Output:
        return "output";
    case Focus::Timeline:
        return "timeline";
    case Focus::SpeedupChart:
        return "speedup chart";
    case Focus::WhyPanel:
        return "why panel";
    case Focus::Roofline:
        return "roofline";
    case Focus::Stats:
        return "stats";
    }
    return "output";
}

const std::vector<const Lesson*>& allLessons()
{
    static const std::vector<const Lesson*> lessons = teachingOrder();
    return lessons;
}

const Lesson* findLesson(const std::string& name)
{
    for (const Lesson* l : allLessons())
        if (l->name() == name)
            return l;
    return nullptr;
}

nlohmann::json toJson(const LessonOutcome& outcome)
{
    nlohmann::json measured = nlohmann::json::object();
    nlohmann::json measuredText = nlohmann::json::object();
    nlohmann::json units = nlohmann::json::object();
    for (const Measurement& m : outcome.measured.values) {
        measured[m.name] = std::isfinite(m.value) ? nlohmann::json(m.value) : nlohmann::json(nullptr);
        measuredText[m.name] = m.text();
        units[m.name] = m.unit;
    }
    nlohmann::json lookAt = nlohmann::json::array();
    for (Focus f : outcome.explanation.lookAt)
        lookAt.push_back(focusName(f));
    return {
        { "name", outcome.name },
        { "title", outcome.title },
        { "explanation", outcome.explanation.text },
        { "contradicts", outcome.explanation.contradicts },
        { "look_at", lookAt },
        { "look_at_text", outcome.explanation.lookAtText },
        { "chart_phase",
            outcome.explanation.chartPhase ? nlohmann::json(chartPhaseName(*outcome.explanation.chartPhase))
                                           : nlohmann::json(nullptr) },
        { "measured", measured },
        { "measured_text", measuredText },
        { "units", units },
        { "cancelled", outcome.cancelled },
    };
}

} // namespace engine::lessons
