// The window's side of session/labels.h (the one map of labels, shared with the HTML report), as QStrings.
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
