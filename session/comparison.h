// What a comparison of two runs or two sweeps shows, without Qt, so the window's compare view and the HTML report
// (window and CLI) show the same things: the settings that differ, the figures and their ratios, the outputs' word
// diff, and two sweeps as one result for one speedup chart.
#pragma once

#include "session/session.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace session {

class Comparison {
public:
    struct Setting {
        std::string key;
        nlohmann::json a, b; // null where a side lacks the key
        bool differs = false;
    };
    // Every key of two JSON objects (a's order, then keys only b has), the differing ones first.
    static std::vector<Setting> settings(const nlohmann::json& a, const nlohmann::json& b);
    // Of two runs' settings (engine::toJson(RunRequest)).
    static std::vector<Setting> settings(const engine::RunRequest& a, const engine::RunRequest& b);
    // A setting's value as a person reads it: strings without quotes, everything else as JSON.
    static std::string valueText(const nlohmann::json& v);

    struct Figure {
        std::string name;
        double value = 0;
        int decimals = 0;
    };
    // The run's figures a report and the compare view list, in one order (so two runs' lists line up).
    static std::vector<Figure> figures(const RunRecord& run);
    // b ÷ a; NaN when a is 0 or either is not finite (shown as "–").
    static double ratio(double a, double b);

    struct DiffPiece {
        enum class Kind { Same, Removed, Added };
        Kind kind = Kind::Same;
        std::string text; // words with the spaces between them
    };
    // Word-level diff of a to b (longest common subsequence over words and runs of ASCII white space). Past
    // kMaxDiffCells word pairs (long outputs) the texts are given whole: all of a removed, all of b added.
    static std::vector<DiffPiece> diffWords(const std::string& a, const std::string& b);
    static constexpr size_t kMaxDiffCells = 4'000'000;

    // Both sweeps' strategies in one result, named "<name> · <strategy>", for one speedup chart.
    static engine::SweepResult mergedSweeps(
        const engine::SweepResult& a, const engine::SweepResult& b, const std::string& nameA, const std::string& nameB);
};

} // namespace session
