// How token probabilities look in the window: the colour scale of the output view's token colouring (with its
// legend), the names of the sampler's stages, and a token's text made readable in a list.
#pragma once

#include "engine/model/sampler.h"

#include <QColor>
#include <QString>

#include <string>

namespace ui {

// The background of a generated token whose chosen probability is p (0..1): red for unlikely through yellow to
// green for near-certain, light enough to read black text on.
QColor probabilityColor(double p);

// The colour scale as one line of rich text, for a legend: "p 0% [swatches] 100%".
QString probabilityLegendHtml();

// "repetition penalty", "top-k", "top-p", "min-p", "temperature", "greedy".
QString stageLabel(engine::SamplerStage stage);

// The stage with the setting it ran with: "top-k 40", "top-p 0.95 (off)", "temperature 0.8".
QString stageWithSetting(engine::SamplerStage stage, const engine::SamplingParams& params);

// A token's text as a list shows it: quoted, with line breaks and tabs made visible.
QString tokenLabel(const std::string& text);

// "43.1%", "0.02%", "<0.01%".
QString probabilityText(double p);

} // namespace ui
