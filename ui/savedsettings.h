// What the window remembers between sessions (QSettings): the run settings and the sweep dialog's choices.
#pragma once

#include "engine/measure/sweep.h"

class QSettings;

namespace ui {

class SweepDialog;

class SavedSettings {
public:
    // "run/settings" holds the run settings as the engine's JSON (engine/run/runsettings.h). Without it
    // (a first start, or settings saved by a version with one key per field) the old keys are read,
    // each missing one keeping its value in `fallback`, the controls' defaults.
    static engine::RunRequest loadRun(QSettings& settings, const engine::RunRequest& fallback);
    static void saveRun(QSettings& settings, const engine::RunRequest& request);

    // The sweep dialog opens with the thread counts, repetitions and strategies used last time.
    static void restoreSweepDialog(QSettings& settings, SweepDialog& dialog);
    static void saveSweep(QSettings& settings, const engine::SweepRequest& sweep);

private:
    static engine::RunRequest loadLegacyRun(QSettings& settings, const engine::RunRequest& fallback);
};

} // namespace ui
