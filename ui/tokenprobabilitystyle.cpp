#include "ui/tokenprobabilitystyle.h"

#include <algorithm>

namespace ui {

QColor probabilityColor(double p)
{
    // Hue 0 (red) at p = 0 to 120 (green) at p = 1; pale so the text stays legible.
    const double clamped = std::clamp(p, 0.0, 1.0);
    return QColor::fromHsvF(float(clamped / 3.0), 0.42f, 1.0f);
}

QString probabilityLegendHtml()
{
    QString swatches;
    for (int i = 0; i <= 10; ++i)
        swatches += QStringLiteral("<span style=\"background-color:%1\">&nbsp;&nbsp;</span>")
                        .arg(probabilityColor(i / 10.0).name());
    return QStringLiteral("0% %1 100%").arg(swatches);
}

QString stageLabel(engine::SamplerStage stage)
{
    switch (stage) {
    case engine::SamplerStage::RepetitionPenalty:
        return QStringLiteral("repetition penalty");
    case engine::SamplerStage::TopK:
        return QStringLiteral("top-k");
    case engine::SamplerStage::TopP:
        return QStringLiteral("top-p");
    case engine::SamplerStage::MinP:
        return QStringLiteral("min-p");
    case engine::SamplerStage::Temperature:
        return QStringLiteral("temperature");
    case engine::SamplerStage::Greedy:
        return QStringLiteral("greedy");
    }
    return QString();
}

QString stageWithSetting(engine::SamplerStage stage, const engine::SamplingParams& p)
{
    const QString off = QStringLiteral(" (off)");
    switch (stage) {
    case engine::SamplerStage::RepetitionPenalty:
        return QStringLiteral("repetition penalty %1 over %2").arg(p.repeatPenalty).arg(p.repeatLastN)
            + (p.repeatPenalty == 1.0f || p.repeatLastN == 0 ? off : QString());
    case engine::SamplerStage::TopK:
        return QStringLiteral("top-k %1").arg(p.topK) + (p.topK <= 0 ? off : QString());
    case engine::SamplerStage::TopP:
        return QStringLiteral("top-p %1").arg(p.topP) + (p.topP >= 1.0f ? off : QString());
    case engine::SamplerStage::MinP:
        return QStringLiteral("min-p %1").arg(p.minP) + (p.minP <= 0.0f ? off : QString());
    case engine::SamplerStage::Temperature:
        return QStringLiteral("temperature %1").arg(p.temperature);
    case engine::SamplerStage::Greedy:
        return QStringLiteral("greedy (temperature 0)");
    }
    return QString();
}

QString tokenLabel(const std::string& text)
{
    QString t = QString::fromUtf8(text.data(), qsizetype(text.size()));
    t.replace(QLatin1Char('\n'), QStringLiteral("↵"));
    t.replace(QLatin1Char('\t'), QStringLiteral("⇥"));
    return QStringLiteral("“%1”").arg(t);
}

QString probabilityText(double p)
{
    if (p <= 0.0)
        return QStringLiteral("0");
    if (p < 0.0001)
        return QStringLiteral("<0.01%");
    if (p < 0.01)
        return QStringLiteral("%1%").arg(p * 100.0, 0, 'f', 2);
    return QStringLiteral("%1%").arg(p * 100.0, 0, 'f', 1);
}

} // namespace ui
