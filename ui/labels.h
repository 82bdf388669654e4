// Words for the names the engine and the session files use as keys: a lesson's measurements ("decode_tps_1") and a
// run's settings ("add_bos"), as the window shows them in tables ("decode tok/s, 1 thread", "adds BOS token").
#pragma once

#include <QString>

#include <string>

namespace ui {

// A lesson measurement's name (engine/lessons: Measured::add) as a table row label. Names with a variant suffix
// ("decode_tps_q4", "imbalance_static", "threads_8") are read as measurement + variant; an unknown name comes
// back with its underscores as spaces.
QString measurementLabel(const std::string& key);

// A run setting's key in engine/run/runsettings.h's JSON ("top_k", "pin_threads") as a label.
QString settingLabel(const std::string& key);

} // namespace ui
