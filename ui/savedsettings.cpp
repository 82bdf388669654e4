#include "ui/savedsettings.h"

#include "engine/run/defaults.h"
#include "engine/run/runsettings.h"
#include "ui/sweepdialog.h"

#include <QSettings>
#include <QStringList>

#include <algorithm>

namespace ui {

namespace {

const QString kRunKey = QStringLiteral("run/settings");

} // namespace

engine::RunRequest SavedSettings::loadRun(QSettings& st, const engine::RunRequest& fallback)
{
    if (st.contains(kRunKey)) {
        try {
            return engine::runRequestFromJson(nlohmann::json::parse(st.value(kRunKey).toString().toStdString()));
        } catch (const std::exception& e) {
            qWarning("saved run settings ignored: %s", e.what());
        }
    }
    return loadLegacyRun(st, fallback);
}

void SavedSettings::saveRun(QSettings& st, const engine::RunRequest& request)
{
    st.setValue(kRunKey, QString::fromStdString(engine::toJson(request).dump()));
}

engine::RunRequest SavedSettings::loadLegacyRun(QSettings& st, const engine::RunRequest& fallback)
{
    engine::RunRequest s = fallback;
    s.prompts.clear();
    for (const QString& p :
        st.value(QStringLiteral("run/prompts"), QStringList { QString::fromLatin1(engine::kDefaultPrompt) })
            .toStringList())
        s.prompts.push_back(p.toStdString());
    s.systemPrompt = st.value(QStringLiteral("run/system")).toString().toStdString();
    s.chat = st.value(QStringLiteral("run/chat"), true).toBool();
    s.sampling.temperature = st.value(QStringLiteral("run/temperature"), s.sampling.temperature).toFloat();
    s.sampling.topK = st.value(QStringLiteral("run/topK"), s.sampling.topK).toInt();
    s.sampling.topP = st.value(QStringLiteral("run/topP"), s.sampling.topP).toFloat();
    s.sampling.minP = st.value(QStringLiteral("run/minP"), s.sampling.minP).toFloat();
    s.sampling.repeatPenalty = st.value(QStringLiteral("run/repeatPenalty"), s.sampling.repeatPenalty).toFloat();
    s.sampling.seed = st.value(QStringLiteral("run/seed"), qulonglong(s.sampling.seed)).toULongLong();
    s.maxTokens = st.value(QStringLiteral("run/maxTokens"), s.maxTokens).toInt();
    s.scheduler.threads = st.value(QStringLiteral("run/threads"), s.scheduler.threads).toInt();
    if (auto v = engine::strategyFromName(st.value(QStringLiteral("run/strategy")).toString().toStdString()))
        s.strategy = *v;
    if (auto v = engine::partitionerFromName(st.value(QStringLiteral("run/partitioner")).toString().toStdString()))
        s.scheduler.partitioner = *v;
    s.scheduler.grain = size_t(std::max(1, st.value(QStringLiteral("run/grain"), 1).toInt()));
    s.scheduler.pinThreads = st.value(QStringLiteral("run/pin_threads"), true).toBool();
    return s;
}

void SavedSettings::restoreSweepDialog(QSettings& st, SweepDialog& dialog)
{
    const auto saved = SweepDialog::parseThreadList(st.value(QStringLiteral("sweep/threads")).toString());
    if (!saved.empty())
        dialog.setThreads(saved);
    dialog.setRepeat(st.value(QStringLiteral("sweep/repeat"), 3).toInt());
    std::vector<engine::Strategy> strategies;
    for (const QString& name : st.value(QStringLiteral("sweep/strategies")).toStringList())
        if (auto s = engine::strategyFromName(name.toStdString()))
            strategies.push_back(*s);
    if (!strategies.empty())
        dialog.setStrategies(strategies);
}

void SavedSettings::saveSweep(QSettings& st, const engine::SweepRequest& sweep)
{
    QStringList parts, names;
    for (int p : sweep.threads)
        parts << QString::number(p);
    for (auto s : sweep.strategies)
        names << QString::fromLatin1(engine::strategyName(s));
    st.setValue(QStringLiteral("sweep/threads"), parts.join(QLatin1Char(',')));
    st.setValue(QStringLiteral("sweep/repeat"), sweep.repeat);
    st.setValue(QStringLiteral("sweep/strategies"), names);
}

} // namespace ui
