// report: a session file as a one-page, self-contained HTML report (session/htmlreport.h), for scripts.
#include "app/cli/commands.h"

#include "session/htmlreport.h"
#include "session/sessionfile.h"

#include <cstdio>

namespace cli {

CLI::App* addReport(CLI::App& app, ReportOptions& o)
{
    auto* cmd
        = app.add_subcommand("report", "write a one-page HTML report of a session file (run, sweep or comparison)");
    cmd->add_option("--session", o.session, "session file (from the window or --session-out)")->required();
    cmd->add_option("--html", o.html, "HTML file to write")->required();
    cmd->add_option("--run", o.run, "which run, 1-based (default: the latest)");
    cmd->add_option("--compare", o.compare, "compare the run with this run, 1-based (the sweep only with --sweep)");
    cmd->add_option("--sweep", o.sweep, "which sweep, 1-based (default: the latest)");
    cmd->add_option(
        "--compare-sweep", o.compareSweep, "compare the sweep with this sweep, 1-based (the run only with --run)");
    return cmd;
}

int runReport(const ReportOptions& o)
{
    const session::Session s = session::SessionFile::read(o.session);
    auto index = [](int oneBased, size_t count, const char* option, const char* what) {
        if (oneBased < 0 || size_t(oneBased) > count)
            throw UsageError(std::string("--") + option + ": the session has " + std::to_string(count) + " " + what
                + (count == 1 ? "" : "s"));
        return oneBased - 1; // 0 → -1: the latest (or none)
    };
    // A comparison is its own page: the other kind joins it only when asked for by number.
    session::HtmlReport::Options options;
    options.run = o.run == 0 && o.compareSweep > 0 ? options.kNone : index(o.run, s.runs.size(), "run", "run");
    options.compareWith = index(o.compare, s.runs.size(), "compare", "run");
    options.sweep = o.sweep == 0 && o.compare > 0 ? options.kNone : index(o.sweep, s.sweeps.size(), "sweep", "sweep");
    options.compareSweepWith = index(o.compareSweep, s.sweeps.size(), "compare-sweep", "sweep");
    session::HtmlReport::write(o.html, s, options);
    std::fprintf(stderr, "report: %s (%zu run(s), %zu sweep(s) in the session)\n", o.html.c_str(), s.runs.size(),
        s.sweeps.size());
    return 0;
}

} // namespace cli
