// demo: one teaching demonstration (engine/lessons) run headless: its steps with progress on stderr, then its
// explanation, what to look at, and the numbers the explanation was filled from.
#include "app/cli/commands.h"

#include "engine/lessons/lesson.h"
#include "engine/measure/roofline.h"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace cli {

namespace {

void printList(std::FILE* out)
{
    for (const engine::lessons::Lesson* l : engine::lessons::allLessons())
        std::fprintf(out, "  %-24s %s: %s\n", l->name().c_str(), l->title().c_str(), l->summary().c_str());
}

} // namespace

CLI::App* addDemo(CLI::App& app, DemoOptions& o)
{
    auto* cmd = app.add_subcommand("demo", "run a teaching demonstration and explain it with this machine's numbers");
    cmd->add_option("name", o.name, "the demonstration (see --list)");
    cmd->add_flag("--list", o.list, "list the demonstrations");
    cmd->add_option("--json", o.jsonOut, "also write the explanation and its measurements as JSON to this file");
    cmd->add_flag("--quick", o.quick, "fewer tokens and repetitions (the same steps): a rough result, fast");
    cmd->add_option("--machine-cache", o.machineCache,
        "where the machine's measured ceilings are cached (default ~/.cache/llm-thread-playground/roofline.json)");
    return cmd;
}

int runDemo(const DemoOptions& o, const std::string& argv0)
{
    if (o.list) {
        printList(stdout);
        return 0;
    }
    const engine::lessons::Lesson* lesson = engine::lessons::findLesson(o.name);
    if (!lesson) {
        std::fprintf(stderr, "error: %s; the demonstrations are:\n",
            o.name.empty() ? "name a demonstration" : ("no demonstration named '" + o.name + "'").c_str());
        printList(stderr);
        return 2;
    }
    // A file that cannot be written is found before the demonstration runs, not after.
    std::ofstream jsonFile;
    if (!o.jsonOut.empty()) {
        jsonFile.open(o.jsonOut, std::ios::trunc);
        if (!jsonFile)
            throw UsageError("--json: cannot write " + o.jsonOut);
    }
    std::fprintf(stderr, "measuring the machine's ceilings (or reading them from the cache)...\n");
    const engine::MachinePeaks machine = engine::machinePeaks(o.machineCache);
    engine::lessons::LessonOptions options;
    options.quick = o.quick;
    // One line per step and caption, rewritten in place as the step's share done moves by a tenth.
    std::string shown;
    const engine::lessons::LessonOutcome outcome = engine::lessons::runLesson(
        *lesson, options, machine, argv0, [&shown](int step, int steps, double fraction, const std::string& caption) {
            if (step >= steps)
                return true;
            char line[160];
            std::snprintf(line, sizeof line, "\r[%d/%d %3d%%] %-70.70s", step + 1, steps, int(fraction * 10) * 10,
                caption.c_str());
            if (shown != line) {
                shown = line;
                std::fputs(line, stderr);
                std::fflush(stderr);
            }
            return true;
        });
    std::fprintf(stderr, "\n");

    const engine::lessons::Explanation& e = outcome.explanation;
    std::printf("%s\n\n%s\n\n", outcome.title.c_str(), e.text.c_str());
    std::string where;
    for (engine::lessons::Focus f : e.lookAt)
        where += (where.empty() ? "" : ", ") + std::string(engine::lessons::focusName(f));
    std::printf("Look at (%s): %s\n\n", where.c_str(), e.lookAtText.c_str());
    std::printf("measured:\n");
    for (const engine::lessons::Measurement& m : outcome.measured.values)
        std::printf("  %-36s %s\n", m.name.c_str(), m.text().c_str());

    if (jsonFile.is_open()) {
        jsonFile << engine::lessons::toJson(outcome).dump(2) << "\n";
        if (!jsonFile.flush())
            throw std::runtime_error("cannot write " + o.jsonOut);
    }
    return 0;
}

} // namespace cli
