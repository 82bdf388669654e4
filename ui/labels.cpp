#include "ui/labels.h"

#include "session/labels.h"

namespace ui {

QString measurementLabel(const std::string& key) { return QString::fromStdString(session::measurementLabel(key)); }

QString settingLabel(const std::string& key) { return QString::fromStdString(session::settingLabel(key)); }

} // namespace ui
