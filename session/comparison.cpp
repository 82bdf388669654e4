#include "session/comparison.h"

#include "engine/run/runsettings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace session {

std::vector<Comparison::Setting> Comparison::settings(const nlohmann::json& a, const nlohmann::json& b)
{
    std::vector<Setting> out;
    const nlohmann::json none;
    auto field = [&](const nlohmann::json& o, const std::string& key) -> const nlohmann::json& {
        if (!o.is_object())
            return none;
        const auto it = o.find(key);
        return it == o.end() ? none : *it;
    };
    if (a.is_object())
        for (auto it = a.begin(); it != a.end(); ++it)
            out.push_back({ it.key(), it.value(), field(b, it.key()), it.value() != field(b, it.key()) });
    if (b.is_object())
        for (auto it = b.begin(); it != b.end(); ++it)
            if (field(a, it.key()).is_null() && !it.value().is_null())
                out.push_back({ it.key(), nullptr, it.value(), true });
    std::stable_partition(out.begin(), out.end(), [](const Setting& s) { return s.differs; });
    return out;
}

std::vector<Comparison::Setting> Comparison::settings(const engine::RunRequest& a, const engine::RunRequest& b)
{
    return settings(engine::toJson(a), engine::toJson(b));
}

std::string Comparison::valueText(const nlohmann::json& v)
{
    if (v.is_null())
        return "–";
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::vector<Comparison::Figure> Comparison::figures(const RunRecord& r)
{
    const auto& m = r.metrics;
    return {
        { "wall time, ms", m.wallMs, 1 },
        { "prefill, ms", m.prefillMs, 1 },
        { "decode, ms", m.decodeMs, 1 },
        { "time to first token, ms", m.timeToFirstTokenMs, 1 },
        { "prompt tokens", double(m.promptTokens), 0 },
        { "generated tokens", double(m.generatedTokens), 0 },
        { "prefill tok/s", m.prefillTokensPerSecond, 1 },
        { "decode tok/s", m.decodeTokensPerSecond, 1 },
        { "total tok/s", m.totalTokensPerSecond, 1 },
        { "load imbalance (max ÷ mean busy)", m.loadImbalance, 2 },
        { "parallel regions", double(m.parallelRegions), 0 },
        { "mean region, µs", m.meanRegionNs / 1000, 1 },
        { "threads", double(r.threads), 0 },
        { "trace events", double(r.trace.size()), 0 },
    };
}

double Comparison::ratio(double a, double b)
{
    if (a == 0 || !std::isfinite(a) || !std::isfinite(b))
        return NAN;
    return b / a;
}

namespace {

// Words and the runs of white space between them, in order: joined they give the text back.
std::vector<std::string> splitWords(const std::string& s)
{
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        const bool inSpace = space(s[i]);
        size_t j = i;
        while (j < s.size() && space(s[j]) == inSpace)
            ++j;
        out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

} // namespace

std::vector<Comparison::DiffPiece> Comparison::diffWords(const std::string& a, const std::string& b)
{
    using Kind = DiffPiece::Kind;
    std::vector<DiffPiece> out;
    auto add = [&](Kind kind, const std::string& text) {
        if (text.empty())
            return;
        if (!out.empty() && out.back().kind == kind)
            out.back().text += text;
        else
            out.push_back({ kind, text });
    };
    if (a == b) {
        add(Kind::Same, a);
        return out;
    }
    const std::vector<std::string> x = splitWords(a), y = splitWords(b);
    const size_t n = x.size(), m = y.size();
    if (n * m > kMaxDiffCells) {
        add(Kind::Removed, a);
        add(Kind::Added, b);
        return out;
    }
    // lcs(i, j): the longest common subsequence of x[i..] and y[j..].
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            at(i, j) = x[i] == y[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && x[i] == y[j]) {
            add(Kind::Same, x[i]);
            ++i, ++j;
        } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
            add(Kind::Added, y[j++]);
        } else {
            add(Kind::Removed, x[i++]);
        }
    }
    return out;
}

engine::SweepResult Comparison::mergedSweeps(
    const engine::SweepResult& a, const engine::SweepResult& b, const std::string& nameA, const std::string& nameB)
{
    engine::SweepResult out = a;
    out.strategies.clear();
    for (const auto& [result, name] : { std::pair(&a, &nameA), std::pair(&b, &nameB) })
        for (engine::StrategySweep s : result->strategies) {
            s.strategy = *name + " · " + s.strategy;
            out.strategies.push_back(std::move(s));
        }
    return out;
}

} // namespace session
