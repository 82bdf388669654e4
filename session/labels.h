// Words for the names the engine and the session files use as keys: a lesson's measurements ("decode_tps_1"), a
// run's settings ("add_bos") and a machine description's fields ("isa_best"), as tables show them ("decode tok/s, 1
// thread", "adds BOS token"). One map for the window (ui/labels.h wraps it) and the HTML report; no Qt.
#pragma once

#include <string>

namespace session {

// A lesson measurement's name (engine/lessons: Measured::add) as a table row label. Names with a variant suffix
// ("decode_tps_q4", "imbalance_static", "threads_8") are read as measurement + variant; an unknown name comes
// back with its underscores as spaces.
std::string measurementLabel(const std::string& key);

// A run setting's key in engine/run/runsettings.h's JSON ("top_k", "pin_threads"), or a sweep workload's
// ("scaled_work", "pinned_threads"), as a label.
std::string settingLabel(const std::string& key);

// A field of engine::machineDescription() ("logical_cores", "isa_best") as a label.
std::string machineLabel(const std::string& key);

} // namespace session
