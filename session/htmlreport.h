// A one-page HTML report of a session's run, sweep, or comparison of two runs or two sweeps: settings, outputs,
// metrics, the timeline and the speedup chart as inline SVG, the analysis and the machine. One self-contained file
// (no scripts, no external references), readable on paper. Without Qt, so the CLI makes the same report as the
// window.
#pragma once

#include "session/session.h"

#include <string>

namespace session {

class HtmlReport {
public:
    // What the page holds. A comparison (compareWith or compareSweepWith) is shown in full: both outputs diffed,
    // the figures with their ratios, both timelines on one time scale (runs), both sweeps on one chart (sweeps).
    struct Options {
        static constexpr int kNone = -2; // leave the run (or the sweep) out
        int run = -1; // index into Session::runs; -1: the latest; none when there is no run
        int compareWith = -1; // a second run to compare `run` with, or -1
        int sweep = -1; // index into Session::sweeps; -1: the latest
        int compareSweepWith = -1; // a second sweep to compare `sweep` with, or -1
    };
    static std::string render(const Session& session, const Options& options);
    static std::string render(const Session& session) { return render(session, Options {}); }
    // Throws std::runtime_error when the file cannot be written.
    static void write(const std::string& path, const Session& session, const Options& options);

    // The pieces, as SVG elements (tests, and anyone who wants a figure alone).
    static std::string timelineSvg(const RunRecord& run, int64_t endNs, int width = 800);
    static std::string speedupSvg(const engine::SweepResult& sweep, int width = 720, int height = 300);
};

} // namespace session
