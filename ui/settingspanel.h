// The run's settings as controls: prompts, system prompt and chat, sampling, max tokens, parallelism.
#pragma once

#include "engine/run/run.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QPlainTextEdit;
class QSpinBox;

namespace ui {

class LimitedSpinBox;
class LimitedDoubleSpinBox;
class PromptListEditor;

// Reads and writes one engine::RunRequest, so what the window shows is what a run, a session or the
// saved settings hold. Fields it has no control for (BOS, EOS, tracing) come back as RunRequest's
// defaults, except chat, which the window turns on by default.
class SettingsPanel : public QWidget {
    Q_OBJECT

public:
    explicit SettingsPanel(QWidget* parent = nullptr);

    engine::RunRequest settings() const;
    // An empty prompt list shows the default prompt; the seed is clamped to what the control holds.
    void setSettings(const engine::RunRequest& settings);

    PromptListEditor* prompts() const { return m_prompts; }
    int threads() const;

    // The loaded model's trained context length (0: no model). A context above it shows a warning
    // and the option to allow it; without that option the engine refuses the run.
    void setModelContextLength(int trained);
    // The warning shown beside the context control, or empty when the context fits the model.
    QString contextWarning() const;
    // The same, short enough for the status bar.
    QString contextStatus() const;

    // Spin boxes and combo boxes anywhere in the application take the mouse wheel only when they
    // have focus (click or tab to them first); otherwise the wheel scrolls what holds them. Called by
    // the constructor; installs one application-wide filter, once.
    static void guardWheelEvents();

Q_SIGNALS:
    void settingsChanged(); // any control changed, by the user or by setSettings

private:
    QWidget* buildPrompts();
    QWidget* buildSampling();
    QWidget* buildParallelism();
    void updateThreadHint();
    void addContextRows(QFormLayout* form, QWidget* parent);
    void updateContextWarning();
    // The context a run gets with these settings (0: not known without a model); max tokens is at most it.
    int effectiveContext() const;
    QString maxTokensReason() const;
    void updateMaxTokensLimit();
    static constexpr int kMaxTokensLimit = 1 << 20; // engine/run/runsettings.cpp's limit

    PromptListEditor* m_prompts;
    QPlainTextEdit* m_system;
    QCheckBox* m_chat;
    LimitedDoubleSpinBox* m_temperature;
    QSpinBox* m_topK;
    LimitedDoubleSpinBox* m_topP;
    LimitedDoubleSpinBox* m_minP;
    LimitedDoubleSpinBox* m_repeatPenalty;
    LimitedSpinBox* m_maxTokens;
    QSpinBox* m_seed;
    QSpinBox* m_context;
    QLabel* m_contextWarning;
    QCheckBox* m_allowContextOverflow;
    int m_modelContext = 0;
    LimitedSpinBox* m_threads;
    QLabel* m_threadHint;
    QComboBox* m_strategy;
    QComboBox* m_partitioner;
    QSpinBox* m_grain;
    QCheckBox* m_pin;
};

} // namespace ui
