#include "engine/measure/sweepexport.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>

namespace engine {

nlohmann::json jsonNumber(double value)
{
    // nlohmann stores NaN/inf as numbers and only maps them to null while dumping; make the value itself null so
    // code that reads the object (not its text) sees the same thing as a reader of the file.
    if (!std::isfinite(value))
        return nullptr;
    return value;
}

namespace {

struct PhaseView {
    const char* name;
    const ScalingAnalysis* analysis;
    double tokens; // for the p = 1 workload
};

std::vector<PhaseView> phasesOf(const StrategySweep& s)
{
    return {
        { "prefill", &s.prefillScaling, double(s.promptTokens) },
        { "decode", &s.decodeScaling, double(s.generatedTokens) },
        { "total", &s.totalScaling, double(s.promptTokens) + double(s.generatedTokens) },
    };
}

// With scaled work, p threads process p copies of the p = 1 workload.
double tokensAt(const StrategySweep& s, const PhaseView& phase, int threads)
{
    return s.scaledWork ? phase.tokens * threads : phase.tokens;
}

// Raw samples of one thread count, pooled as analyzeScaling pools them.
std::vector<double> samplesAt(const std::vector<TimingSamples>& all, int threads)
{
    std::vector<double> out;
    for (const TimingSamples& s : all)
        if (s.threads == threads)
            out.insert(out.end(), s.seconds.begin(), s.seconds.end());
    return out;
}

const std::vector<TimingSamples>& samplesOf(const StrategySweep& s, const PhaseView& phase)
{
    if (phase.analysis == &s.prefillScaling)
        return s.prefill;
    if (phase.analysis == &s.decodeScaling)
        return s.decode;
    return s.total;
}

// Whether the Amdahl fit used this thread count (oversubscribed points are measured but not fitted).
bool inFit(const ScalingAnalysis& a, int threads)
{
    return std::find(a.fitThreads.begin(), a.fitThreads.end(), threads) != a.fitThreads.end();
}

} // namespace

std::string csvNumber(double value)
{
    if (!std::isfinite(value))
        return {};
    char buffer[64];
    // Shortest text that reads back to the same double.
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc() ? std::string(buffer, end) : std::string();
}

std::string csvField(const std::string& text)
{
    // RFC 4180 §2.6–2.7: quote fields holding a comma, a quote or a line break; double inner quotes.
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

const char* const kSweepCsvHeader = "strategy,phase,threads,repetitions,median_s,min_s,max_s,speedup,speedup_low,"
                                    "speedup_high,efficiency,karp_flatt,tokens,tokens_per_s,scaled_speedup,"
                                    "scaled_efficiency,serial_fraction,asymptotic_speedup,in_fit";

nlohmann::json sweepToJson(const SweepResult& result)
{
    nlohmann::json strategies = nlohmann::json::array();
    for (const StrategySweep& s : result.strategies) {
        nlohmann::json phases = nlohmann::json::object();
        for (const PhaseView& phase : phasesOf(s)) {
            const ScalingAnalysis& a = *phase.analysis;
            nlohmann::json points = nlohmann::json::array();
            for (const ScalingPoint& p : a.points) {
                const double tokens = tokensAt(s, phase, p.threads);
                nlohmann::json samples = nlohmann::json::array();
                for (double v : samplesAt(samplesOf(s, phase), p.threads))
                    samples.push_back(jsonNumber(v));
                nlohmann::json point = {
                    { "threads", p.threads },
                    { "repetitions", p.repetitions },
                    { "samples", samples },
                    { "medianSeconds", jsonNumber(p.medianSeconds) },
                    { "minSeconds", jsonNumber(p.minSeconds) },
                    { "maxSeconds", jsonNumber(p.maxSeconds) },
                    { "tokens", jsonNumber(tokens) },
                    { "tokensPerSecond", jsonNumber(tokens / p.medianSeconds) },
                };
                for (const StrategySweep::PointTrace& t : s.traced)
                    if (t.threads == p.threads)
                        point["traceSerialFraction"] = jsonNumber(phase.name == std::string("prefill")
                                ? t.prefill
                                : (phase.name == std::string("decode") ? t.decode : t.total));
                if (s.scaledWork) {
                    // The work grows with p: T(1)/T(p), Karp–Flatt and the Amdahl fit do not apply.
                    point["scaledSpeedup"] = jsonNumber(p.scaledSpeedup);
                    point["scaledEfficiency"] = jsonNumber(p.scaledEfficiency);
                } else {
                    point["inFit"] = inFit(a, p.threads);
                    point["speedup"] = jsonNumber(p.speedup);
                    point["speedupLow"] = jsonNumber(p.speedupLow);
                    point["speedupHigh"] = jsonNumber(p.speedupHigh);
                    point["efficiency"] = jsonNumber(p.efficiency);
                    point["karpFlatt"] = jsonNumber(p.karpFlatt);
                }
                points.push_back(std::move(point));
            }
            nlohmann::json view = {
                { "valid", a.valid },
                { "tokens", jsonNumber(phase.tokens) },
                { "points", std::move(points) },
            };
            if (!s.scaledWork) {
                view["fitThreadLimit"] = a.fitThreadLimit > 0 ? nlohmann::json(a.fitThreadLimit) : nlohmann::json();
                view["fitThreads"] = a.fitThreads;
                view["serialFraction"] = jsonNumber(a.serialFraction);
                view["asymptoticSpeedup"] = jsonNumber(a.asymptoticSpeedup);
            }
            phases[phase.name] = std::move(view);
        }
        nlohmann::json loads = nlohmann::json::array();
        for (const StrategySweep::PointLoad& l : s.backgroundLoads) {
            nlohmann::json entry = toJson(l.load);
            entry["threads"] = l.threads;
            loads.push_back(std::move(entry));
        }
        nlohmann::json prediction;
        if (s.prediction.available) {
            nlohmann::json points = nlohmann::json::array();
            for (const PredictionPoint& p : s.prediction.points)
                points.push_back({ { "threads", p.threads }, { "prefillMs", jsonNumber(p.prefillMs) },
                    { "decodeMs", jsonNumber(p.decodeMs) },
                    { "prefillTokensPerSecond", jsonNumber(p.prefillTokensPerSecond) },
                    { "decodeTokensPerSecond", jsonNumber(p.decodeTokensPerSecond) },
                    { "prefillSpeedup", jsonNumber(p.prefillSpeedup) },
                    { "decodeSpeedup", jsonNumber(p.decodeSpeedup) }, { "beyondCores", p.beyondCores } });
            prediction = { { "fromThreads", s.prediction.measuredThreads },
                { "target", predictionTargetName(s.prediction.target) }, { "points", std::move(points) } };
        }
        strategies.push_back({
            { "strategy", s.strategy },
            { "prediction", std::move(prediction) },
            { "backgroundLoad", std::move(loads) },
            { "promptTokens", s.promptTokens },
            { "generatedTokens", s.generatedTokens },
            { "scaledWork", s.scaledWork },
            { "phases", std::move(phases) },
        });
    }
    return {
        { "workload", result.workload },
        { "machine", result.machine },
        { "backgroundLoad", toJson(result.backgroundLoad) },
        { "strategies", std::move(strategies) },
    };
}

std::string sweepToCsv(const SweepResult& result)
{
    // RFC 4180 §2.1: records end in CRLF.
    std::string csv = std::string(kSweepCsvHeader) + "\r\n";
    for (const StrategySweep& s : result.strategies) {
        for (const PhaseView& phase : phasesOf(s)) {
            const ScalingAnalysis& a = *phase.analysis;
            for (const ScalingPoint& p : a.points) {
                const double tokens = tokensAt(s, phase, p.threads);
                // Scaled work: only the scaled speedup and efficiency; fixed work: everything else.
                const bool fixed = !s.scaledWork;
                auto fixedOnly = [fixed](double v) { return fixed ? csvNumber(v) : std::string(); };
                auto scaledOnly = [fixed](double v) { return fixed ? std::string() : csvNumber(v); };
                const std::string fields[] = {
                    csvField(s.strategy),
                    phase.name,
                    std::to_string(p.threads),
                    std::to_string(p.repetitions),
                    csvNumber(p.medianSeconds),
                    csvNumber(p.minSeconds),
                    csvNumber(p.maxSeconds),
                    fixedOnly(p.speedup),
                    fixedOnly(p.speedupLow),
                    fixedOnly(p.speedupHigh),
                    fixedOnly(p.efficiency),
                    fixedOnly(p.karpFlatt),
                    csvNumber(tokens),
                    csvNumber(tokens / p.medianSeconds),
                    scaledOnly(p.scaledSpeedup),
                    scaledOnly(p.scaledEfficiency),
                    fixedOnly(a.serialFraction),
                    fixedOnly(a.asymptoticSpeedup),
                    fixed ? (inFit(a, p.threads) ? "1" : "0") : "",
                };
                for (size_t i = 0; i < std::size(fields); ++i) {
                    if (i)
                        csv += ',';
                    csv += fields[i];
                }
                csv += "\r\n";
            }
        }
    }
    return csv;
}

} // namespace engine
