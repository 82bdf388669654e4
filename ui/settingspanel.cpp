#include "ui/settingspanel.h"

#include "engine/model/inferencecontext.h"
#include "engine/run/defaults.h"
#include "ui/promptlisteditor.h"

#include <QAbstractSpinBox>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <algorithm>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace ui {

namespace {

QStringList toQStringList(const std::vector<std::string>& list)
{
    QStringList out;
    for (const std::string& s : list)
        out << QString::fromStdString(s);
    return out;
}

// Scrolling the control column over a spin box used to change its value (temperature 0.80 → 0.65)
// without the user noticing. Every spin box and combo box gets a focus policy without wheel focus
// when it is polished, and a wheel event on one without focus is passed on to its parents instead.
class WheelGuard : public QObject {
public:
    using QObject::QObject;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override
    {
        if (event->type() != QEvent::Polish && event->type() != QEvent::Wheel)
            return false;
        auto* widget = qobject_cast<QWidget*>(watched);
        if (!widget || !(qobject_cast<QAbstractSpinBox*>(widget) || qobject_cast<QComboBox*>(widget)))
            return false;
        if (event->type() == QEvent::Polish) {
            if (widget->focusPolicy() == Qt::WheelFocus)
                widget->setFocusPolicy(Qt::StrongFocus);
            return false;
        }
        if (widget->hasFocus())
            return false;
        // Ignored and filtered: QApplication hands a real wheel event on to the parent, so the
        // scroll area around the control scrolls.
        event->ignore();
        return true;
    }
};

} // namespace

// QSpinBox refuses a keystroke that would take the value past its maximum (typing 300 into a 1-256 box
// leaves 30) and puts the old value back when Enter finds one below its minimum, both without a word;
// QDoubleSpinBox does the same with decimals (7 in a 0-5 box: the 7 never appears). This one lets any number be
// typed, says at once in `note` what the limit is and why, and when editing finishes sets the nearest allowed
// value and says so. Base: QSpinBox or QDoubleSpinBox.
template <typename Base> class LimitedSpinBoxOf : public Base {
public:
    using Value = decltype(std::declval<Base>().value());

    // whyMinimum: empty for none (the integer boxes' least values explain themselves).
    LimitedSpinBoxOf(
        QLabel* note, std::function<QString()> whyMaximum, QWidget* parent, std::function<QString()> whyMinimum = {})
        : Base(parent)
        , m_note(note)
        , m_whyMaximum(std::move(whyMaximum))
        , m_whyMinimum(std::move(whyMinimum))
    {
        m_note->setWordWrap(true);
        m_note->setStyleSheet(QStringLiteral("color: #b00020;"));
        m_note->hide();
        QObject::connect(this->lineEdit(), &QLineEdit::textEdited, this, [this](const QString& text) {
            m_typed = typedNumber(text);
            if (m_typed && *m_typed > this->maximum())
                showNote(QSpinBox::tr("⚠ At most %1: %2.").arg(shown(this->maximum()), m_whyMaximum()));
            else if (m_typed && *m_typed < this->minimum())
                showNote(QSpinBox::tr("⚠ At least %1%2.").arg(shown(this->minimum()), minimumReason()));
            else
                showNote({});
        });
        QObject::connect(this, &QAbstractSpinBox::editingFinished, this, [this] {
            if (m_typed && *m_typed > this->maximum())
                showNote(QSpinBox::tr("⚠ %1 is above the limit: set to %2 (%3).")
                             .arg(shown(*m_typed), shown(this->maximum()), m_whyMaximum()));
            else if (m_typed && *m_typed < this->minimum())
                showNote(QSpinBox::tr("⚠ %1 is below the limit: set to %2, the least allowed%3.")
                             .arg(shown(*m_typed), shown(this->minimum()), minimumReason()));
            m_typed.reset();
        });
    }

    // A new maximum; a value above it is lowered and the note says so (QSpinBox would do it silently).
    void setMaximumTelling(Value maximum)
    {
        const Value before = this->value();
        this->setMaximum(maximum);
        if (before > maximum)
            showNote(QSpinBox::tr("⚠ Lowered from %1 to %2, the most allowed now (%3).")
                         .arg(shown(before), shown(maximum), m_whyMaximum()));
    }

    // A value from a session or the saved settings; one outside the range is clamped and the note says so.
    void setValueTelling(double v, const QString& source)
    {
        this->setValue(Value(v));
        if (v > this->maximum())
            showNote(QSpinBox::tr("⚠ %1 %2 is above the limit: set to %3 (%4).")
                         .arg(source, shown(v), shown(this->maximum()), m_whyMaximum()));
        else if (v < this->minimum())
            showNote(QSpinBox::tr("⚠ %1 %2 is below the limit: set to %3%4.")
                         .arg(source, shown(v), shown(this->minimum()), minimumReason()));
    }

    void showNote(const QString& text)
    {
        m_note->setText(text);
        m_note->setVisible(!text.isEmpty());
    }

protected:
    QValidator::State validate(QString& text, int& pos) const override
    {
        const QValidator::State state = Base::validate(text, pos);
        if (state != QValidator::Acceptable && typedNumber(text)
            && (*typedNumber(text) > this->maximum() || *typedNumber(text) < this->minimum()))
            return QValidator::Intermediate; // out of range: kept on screen, fixed up when editing ends
        return state;
    }

    void fixup(QString& text) const override
    {
        if (const auto n = typedNumber(text)) {
            if (*n > this->maximum())
                text = this->textFromValue(this->maximum());
            else if (*n < this->minimum())
                text = this->textFromValue(this->minimum());
            else
                Base::fixup(text);
            return;
        }
        Base::fixup(text);
    }

private:
    // How a value reads in the note: as the box shows it, or as typed when outside the range.
    QString shown(double v) const
    {
        if (v >= this->minimum() && v <= this->maximum())
            return this->textFromValue(Value(v));
        return QString::number(v, 'g', 12);
    }

    QString minimumReason() const { return m_whyMinimum ? QStringLiteral(": ") + m_whyMinimum() : QString(); }

    std::optional<double> typedNumber(QString text) const
    {
        if (!this->prefix().isEmpty() && text.startsWith(this->prefix()))
            text.remove(0, this->prefix().size());
        if (!this->suffix().isEmpty() && text.endsWith(this->suffix()))
            text.chop(this->suffix().size());
        text = text.trimmed();
        text.remove(this->locale().groupSeparator());
        bool ok = false;
        double n = 0;
        if constexpr (std::is_same_v<Value, int>)
            n = double(text.toLongLong(&ok));
        else {
            n = this->locale().toDouble(text, &ok);
            if (!ok)
                n = text.toDouble(&ok); // "1.5" typed under a locale whose decimal point is a comma
        }
        return ok ? std::optional<double>(n) : std::nullopt;
    }

    QLabel* m_note;
    std::function<QString()> m_whyMaximum;
    std::function<QString()> m_whyMinimum;
    std::optional<double> m_typed;
};

class LimitedSpinBox : public LimitedSpinBoxOf<QSpinBox> {
public:
    using LimitedSpinBoxOf<QSpinBox>::LimitedSpinBoxOf;
};

class LimitedDoubleSpinBox : public LimitedSpinBoxOf<QDoubleSpinBox> {
public:
    using LimitedSpinBoxOf<QDoubleSpinBox>::LimitedSpinBoxOf;
};

void SettingsPanel::guardWheelEvents()
{
    // Found by name: WheelGuard has no meta-object of its own for findChild to tell it by.
    const QString name = QStringLiteral("playgroundWheelGuard");
    if (!qApp || qApp->findChild<QObject*>(name, Qt::FindDirectChildrenOnly))
        return;
    auto* guard = new WheelGuard(qApp);
    guard->setObjectName(name);
    qApp->installEventFilter(guard);
}

SettingsPanel::SettingsPanel(QWidget* parent)
    : QWidget(parent)
{
    guardWheelEvents();
    // The groups sit in the window's control column as if they were its own.
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    // Parallelism first: it is what the playground is about, and on a 720-line screen it should not
    // start below the fold.
    layout->addWidget(buildParallelism());
    layout->addWidget(buildPrompts());
    layout->addWidget(buildSampling());
    connect(m_threads, &QSpinBox::valueChanged, this, &SettingsPanel::updateThreadHint);
    updateThreadHint();

    const auto changed = [this] { Q_EMIT settingsChanged(); };
    connect(m_prompts, &PromptListEditor::promptsChanged, this, changed);
    connect(m_system, &QPlainTextEdit::textChanged, this, changed);
    for (QCheckBox* box : { m_chat, m_pin, m_allowContextOverflow })
        connect(box, &QCheckBox::toggled, this, changed);
    for (QDoubleSpinBox* spin : { m_temperature, m_topP, m_minP, m_repeatPenalty })
        connect(spin, &QDoubleSpinBox::valueChanged, this, changed);
    for (QSpinBox* spin :
        std::initializer_list<QSpinBox*> { m_topK, m_maxTokens, m_seed, m_threads, m_grain, m_context })
        connect(spin, &QSpinBox::valueChanged, this, changed);
    for (QComboBox* combo : { m_strategy, m_partitioner })
        connect(combo, &QComboBox::currentIndexChanged, this, changed);
}

QWidget* SettingsPanel::buildPrompts()
{
    auto* promptBox = new QGroupBox(tr("Prompts"), this);
    auto* promptLayout = new QVBoxLayout(promptBox);
    m_prompts = new PromptListEditor(promptBox);
    promptLayout->addWidget(m_prompts);
    m_chat = new QCheckBox(tr("Use the model's chat template"), promptBox);
    m_chat->setToolTip(tr("Format each prompt as a chat turn when the model file has a chat template; "
                          "otherwise the prompt is continued as raw text"));
    m_chat->setChecked(true);
    promptLayout->addWidget(m_chat);
    m_system = new QPlainTextEdit(promptBox);
    m_system->setPlaceholderText(tr("Optional system prompt (chat models)"));
    m_system->setMaximumHeight(54);
    m_system->setToolTip(tr("Sent as the system turn when a chat template is used"));
    promptLayout->addWidget(m_system);
    return promptBox;
}

QWidget* SettingsPanel::buildSampling()
{
    auto* sampling = new QGroupBox(tr("Sampling"), this);
    auto* form = new QFormLayout(sampling);
    const engine::SamplingParams defaults;
    auto* temperatureNote = new QLabel(sampling);
    temperatureNote->setObjectName(QStringLiteral("temperatureNote"));
    m_temperature = new LimitedDoubleSpinBox(
        temperatureNote, [] { return tr("above 5 every candidate is close to equally likely, and the text is noise"); },
        sampling, [] { return tr("0 is greedy, always the most likely token"); });
    m_temperature->setObjectName(QStringLiteral("temperature"));
    m_temperature->setRange(0.0, 5.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setValue(defaults.temperature);
    m_temperature->setToolTip(tr("Randomness: 0 always takes the most likely token (greedy); higher values flatten "
                                 "the distribution"));
    form->addRow(tr("Temperature"), m_temperature);
    form->addRow(QString(), temperatureNote);
    m_topK = new QSpinBox(sampling);
    m_topK->setObjectName(QStringLiteral("topK"));
    m_topK->setRange(0, 100000);
    m_topK->setValue(defaults.topK);
    m_topK->setToolTip(tr("Keep only the k most likely tokens before sampling (0 = off)"));
    form->addRow(tr("Top-k"), m_topK);
    auto* topPNote = new QLabel(sampling);
    topPNote->setObjectName(QStringLiteral("topPNote"));
    m_topP = new LimitedDoubleSpinBox(
        topPNote, [] { return tr("p is a share of the probability, and 1 keeps every token (off)"); }, sampling,
        [] { return tr("a smaller share keeps the most likely token alone, as 0.01 does"); });
    m_topP->setObjectName(QStringLiteral("topP"));
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.01);
    m_topP->setValue(defaults.topP);
    m_topP->setToolTip(
        tr("Nucleus sampling: keep the smallest set of tokens whose probabilities add up to p (1 = off)"));
    form->addRow(tr("Top-p"), m_topP);
    form->addRow(QString(), topPNote);
    auto* minPNote = new QLabel(sampling);
    minPNote->setObjectName(QStringLiteral("minPNote"));
    m_minP = new LimitedDoubleSpinBox(
        minPNote,
        [] {
            return tr(
                "min-p is a share of the most likely token's probability, and 1 keeps only tokens as likely as it");
        },
        sampling, [] { return tr("0 is off"); });
    m_minP->setObjectName(QStringLiteral("minP"));
    m_minP->setRange(0.0, 1.0);
    m_minP->setSingleStep(0.01);
    m_minP->setValue(defaults.minP);
    m_minP->setToolTip(tr("Drop tokens less likely than min-p times the most likely one (0 = off)"));
    form->addRow(tr("Min-p"), m_minP);
    form->addRow(QString(), minPNote);
    auto* repeatPenaltyNote = new QLabel(sampling);
    repeatPenaltyNote->setObjectName(QStringLiteral("repeatPenaltyNote"));
    m_repeatPenalty = new LimitedDoubleSpinBox(
        repeatPenaltyNote,
        [] { return tr("at 3 a token already in the last 64 is all but barred; more changes nothing you can see"); },
        sampling, [] { return tr("1 is off, below 1 repeats are favoured, and below 0.5 the text loops on itself"); });
    m_repeatPenalty->setObjectName(QStringLiteral("repeatPenalty"));
    m_repeatPenalty->setRange(0.5, 3.0);
    m_repeatPenalty->setSingleStep(0.05);
    m_repeatPenalty->setValue(defaults.repeatPenalty);
    m_repeatPenalty->setToolTip(tr("Make the last 64 tokens less likely to repeat (1 = off; not used when greedy)"));
    form->addRow(tr("Repeat penalty"), m_repeatPenalty);
    form->addRow(QString(), repeatPenaltyNote);
    auto* maxTokensNote = new QLabel(sampling);
    maxTokensNote->setObjectName(QStringLiteral("maxTokensNote"));
    m_maxTokens = new LimitedSpinBox(
        maxTokensNote, [this] { return maxTokensReason(); }, sampling);
    m_maxTokens->setObjectName(QStringLiteral("maxTokens"));
    m_maxTokens->setRange(1, kMaxTokensLimit);
    m_maxTokens->setValue(engine::kDefaultMaxTokens);
    form->addRow(tr("Max tokens"), m_maxTokens);
    form->addRow(QString(), maxTokensNote);
    m_seed = new QSpinBox(sampling);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, 2147483647);
    m_seed->setValue(int(defaults.seed));
    m_seed->setToolTip(tr("Random seed: the same seed, prompts and settings give the same tokens for every thread "
                          "count and strategy"));
    form->addRow(tr("Seed"), m_seed);
    addContextRows(form, sampling);
    return sampling;
}

void SettingsPanel::addContextRows(QFormLayout* form, QWidget* parent)
{
    m_context = new QSpinBox(parent);
    m_context->setObjectName(QStringLiteral("context"));
    m_context->setRange(0, 1 << 20);
    m_context->setSingleStep(256);
    m_context->setSpecialValueText(tr("model default"));
    // Max tokens is bounded by the context: typing 4096 must not pass through a context of 4 on the way.
    m_context->setKeyboardTracking(false);
    m_context->setToolTip(tr("Context length in tokens: prompt and generated tokens together. The model default "
                             "is its trained length, at most %1. Beyond the trained length the model was never "
                             "trained, and the KV cache grows with the context.")
                              .arg(engine::kDefaultContextCap));
    form->addRow(tr("Context"), m_context);
    m_contextWarning = new QLabel(parent);
    m_contextWarning->setObjectName(QStringLiteral("contextWarning"));
    m_contextWarning->setWordWrap(true);
    m_contextWarning->setStyleSheet(QStringLiteral("color: #b00020;"));
    form->addRow(QString(), m_contextWarning);
    m_allowContextOverflow = new QCheckBox(tr("Allow context beyond the model's trained length"), parent);
    m_allowContextOverflow->setObjectName(QStringLiteral("allowContextOverflow"));
    m_allowContextOverflow->setToolTip(tr("Without this a context longer than the model was trained for is "
                                          "refused"));
    form->addRow(QString(), m_allowContextOverflow);
    connect(m_context, &QSpinBox::valueChanged, this, &SettingsPanel::updateContextWarning);
    connect(m_allowContextOverflow, &QCheckBox::toggled, this, &SettingsPanel::updateContextWarning);
    connect(m_context, &QSpinBox::valueChanged, this, &SettingsPanel::updateMaxTokensLimit);
    updateContextWarning();
    updateMaxTokensLimit();
}

void SettingsPanel::setModelContextLength(int trained)
{
    m_modelContext = trained;
    updateContextWarning();
    updateMaxTokensLimit();
}

int SettingsPanel::effectiveContext() const
{
    if (m_context->value() > 0)
        return m_context->value();
    // What the engine gives a run whose context is "model default" (engine/model/inferencecontext.cpp).
    return m_modelContext > 0 ? std::min(m_modelContext, engine::kDefaultContextCap) : 0;
}

QString SettingsPanel::maxTokensReason() const
{
    const int ctx = effectiveContext();
    if (ctx <= 0)
        return tr("the most a run accepts");
    return m_context->value() > 0
        ? tr("the context holds %1 tokens, prompt and output together").arg(ctx)
        : tr("the context holds %1 tokens, prompt and output together; a larger Context allows more").arg(ctx);
}

void SettingsPanel::updateMaxTokensLimit()
{
    const int ctx = effectiveContext();
    m_maxTokens->setMaximumTelling(ctx > 0 ? std::min(ctx, kMaxTokensLimit) : kMaxTokensLimit);
    m_maxTokens->setToolTip(tr("How many tokens to generate for each prompt, 1 to %1 (%2). Generation stops earlier "
                               "at the end of text or when the context is full.")
                                .arg(m_maxTokens->maximum())
                                .arg(maxTokensReason()));
}

QString SettingsPanel::contextWarning() const
{
    const int ctx = m_context->value();
    if (m_modelContext <= 0 || ctx <= m_modelContext)
        return {};
    return m_allowContextOverflow->isChecked()
        ? tr("⚠ context %1 is beyond the model's trained %2 tokens (allowed)").arg(ctx).arg(m_modelContext)
        : tr("⚠ context %1 is beyond the model's trained %2 tokens: refused unless allowed")
              .arg(ctx)
              .arg(m_modelContext);
}

QString SettingsPanel::contextStatus() const
{
    const int ctx = m_context->value();
    if (m_modelContext <= 0 || ctx <= m_modelContext)
        return {};
    return m_allowContextOverflow->isChecked() ? tr("⚠ context %1 > trained %2 (allowed)").arg(ctx).arg(m_modelContext)
                                               : tr("⚠ context %1 > trained %2: refused").arg(ctx).arg(m_modelContext);
}

void SettingsPanel::updateContextWarning()
{
    const QString warning = contextWarning();
    m_contextWarning->setText(warning);
    m_contextWarning->setVisible(!warning.isEmpty());
    // Offered only where it matters (or when a session turned it on), so the column stays short.
    m_allowContextOverflow->setVisible(!warning.isEmpty() || m_allowContextOverflow->isChecked());
    m_context->setStyleSheet(
        warning.isEmpty() || m_allowContextOverflow->isChecked() ? QString() : QStringLiteral("background: #ffe3e3;"));
}

QWidget* SettingsPanel::buildParallelism()
{
    auto* par = new QGroupBox(tr("Parallelism"), this);
    auto* pform = new QFormLayout(par);
    const int cores = engine::Scheduler::hardwareThreads();
    auto* threadsNote = new QLabel(par);
    threadsNote->setObjectName(QStringLiteral("threadsNote"));
    // The scheduler's limit (its arenas may oversubscribe the cores up to it), not a multiple of the cores:
    // a sweep or a session may ask for more threads than this machine has, and the window must show it.
    m_threads = new LimitedSpinBox(
        threadsNote,
        [] { return tr("the scheduler runs at most %1 threads").arg(engine::SchedulerOptions::kMaxThreads); }, par);
    m_threads->setObjectName(QStringLiteral("threads"));
    m_threads->setRange(1, engine::SchedulerOptions::kMaxThreads);
    m_threads->setValue(cores);
    m_threads->setToolTip(tr("Threads in the task arena, 1 to %1 (the scheduler's limit). This machine has %n "
                             "core(s); more threads than cores oversubscribe the CPU.",
        nullptr, cores)
                              .arg(engine::SchedulerOptions::kMaxThreads));
    auto* threadRow = new QHBoxLayout;
    threadRow->addWidget(m_threads);
    m_threadHint = new QLabel(par);
    threadRow->addWidget(m_threadHint, 1);
    pform->addRow(tr("Threads"), threadRow);
    pform->addRow(QString(), threadsNote);
    m_strategy = new QComboBox(par);
    m_strategy->setObjectName(QStringLiteral("strategy"));
    const std::pair<engine::Strategy, QString> strategies[] = {
        { engine::Strategy::IntraOp,
            tr("Intra-op: prompts one after another; each matmul split by rows, attention "
               "by heads") },
        { engine::Strategy::Request,
            tr("Request-parallel: each prompt is one task on one thread; the outputs are "
               "merged at the end") },
        { engine::Strategy::Hybrid, tr("Hybrid: prompts as tasks, and each task's matmuls split again (nested)") },
        { engine::Strategy::Pipeline,
            tr("Layer pipeline: groups of layers are pipeline stages; prompts flow "
               "through them") },
    };
    for (const auto& [s, tip] : strategies) {
        m_strategy->addItem(QString::fromLatin1(engine::strategyName(s)), int(s));
        m_strategy->setItemData(m_strategy->count() - 1, tip, Qt::ToolTipRole);
    }
    m_strategy->setToolTip(tr("What is split across threads"));
    pform->addRow(tr("Strategy"), m_strategy);
    m_partitioner = new QComboBox(par);
    m_partitioner->setObjectName(QStringLiteral("partitioner"));
    const std::pair<engine::Partitioner, QString> partitioners[] = {
        { engine::Partitioner::Auto,
            tr("auto: TBB splits adaptively, a few chunks per thread, more if work is stolen") },
        { engine::Partitioner::Simple, tr("simple: split down to the grain size: many small chunks") },
        { engine::Partitioner::Static, tr("static: one even share per thread, no stealing") },
        { engine::Partitioner::Affinity,
            tr("affinity: like auto, but replays which thread ran which rows last time "
               "(cache reuse)") },
    };
    for (const auto& [p, tip] : partitioners) {
        m_partitioner->addItem(QString::fromLatin1(engine::partitionerName(p)), int(p));
        m_partitioner->setItemData(m_partitioner->count() - 1, tip, Qt::ToolTipRole);
    }
    m_partitioner->setToolTip(tr("How TBB cuts each parallel loop into chunks"));
    pform->addRow(tr("Partitioner"), m_partitioner);
    m_grain = new QSpinBox(par);
    m_grain->setObjectName(QStringLiteral("grain"));
    m_grain->setRange(1, 4096);
    m_grain->setToolTip(tr("Minimum blocks per chunk (a block is 64 rows in prefill, 32 for matrices of fewer than "
                           "512 rows; when decoding, at least 16384 weights, 32 KiB and 16 rows; or one attention "
                           "head)"));
    pform->addRow(tr("Grain"), m_grain);
    m_pin = new QCheckBox(tr("Pin threads to cores"), par);
    m_pin->setToolTip(tr("Give each arena slot its own core while it runs (slot i on core i). Without "
                         "it the OS may park a worker on the caller's core for milliseconds when the other core is "
                         "briefly busy, for instance with this window's drawing. Not applied when there are more "
                         "threads than cores."));
    m_pin->setChecked(true);
    pform->addRow(QString(), m_pin);
    return par;
}

int SettingsPanel::threads() const { return m_threads->value(); }

engine::RunRequest SettingsPanel::settings() const
{
    engine::RunRequest s;
    for (const QString& p : m_prompts->prompts())
        s.prompts.push_back(p.toStdString());
    s.systemPrompt = m_system->toPlainText().toStdString();
    s.chat = m_chat->isChecked();
    s.sampling.temperature = float(m_temperature->value());
    s.sampling.topK = m_topK->value();
    s.sampling.topP = float(m_topP->value());
    s.sampling.minP = float(m_minP->value());
    s.sampling.repeatPenalty = float(m_repeatPenalty->value());
    s.sampling.seed = uint64_t(m_seed->value());
    s.maxTokens = m_maxTokens->value();
    s.contextLength = m_context->value();
    s.allowContextOverflow = m_allowContextOverflow->isChecked();
    s.strategy = engine::Strategy(m_strategy->currentData().toInt());
    s.scheduler.threads = m_threads->value();
    s.scheduler.partitioner = engine::Partitioner(m_partitioner->currentData().toInt());
    s.scheduler.grain = size_t(m_grain->value());
    s.scheduler.pinThreads = m_pin->isChecked();
    return s;
}

void SettingsPanel::setSettings(const engine::RunRequest& s)
{
    m_prompts->setPrompts(
        s.prompts.empty() ? QStringList { QString::fromLatin1(engine::kDefaultPrompt) } : toQStringList(s.prompts));
    m_system->setPlainText(QString::fromStdString(s.systemPrompt));
    m_chat->setChecked(s.chat);
    m_temperature->showNote({});
    m_temperature->setValueTelling(s.sampling.temperature, tr("Temperature"));
    m_topK->setValue(s.sampling.topK);
    m_topP->showNote({});
    m_topP->setValueTelling(s.sampling.topP, tr("Top-p"));
    m_minP->showNote({});
    m_minP->setValueTelling(s.sampling.minP, tr("Min-p"));
    m_repeatPenalty->showNote({});
    m_repeatPenalty->setValueTelling(s.sampling.repeatPenalty, tr("Repeat penalty"));
    m_seed->setValue(int(std::min<uint64_t>(s.sampling.seed, 2147483647)));
    // The context first: it bounds max tokens.
    m_context->setValue(s.contextLength);
    m_allowContextOverflow->setChecked(s.allowContextOverflow);
    m_maxTokens->showNote({});
    m_maxTokens->setValueTelling(s.maxTokens, tr("Max tokens"));
    m_strategy->setCurrentIndex(std::max(0, m_strategy->findData(int(s.strategy))));
    m_threads->showNote({});
    m_threads->setValueTelling(s.scheduler.threads, tr("Threads"));
    m_partitioner->setCurrentIndex(std::max(0, m_partitioner->findData(int(s.scheduler.partitioner))));
    m_grain->setValue(int(s.scheduler.grain));
    m_pin->setChecked(s.scheduler.pinThreads);
}

void SettingsPanel::updateThreadHint()
{
    const int cores = engine::Scheduler::hardwareThreads();
    const int t = m_threads->value();
    if (t > cores) {
        m_threadHint->setText(tr("⚠ oversubscribed (%1 cores)").arg(cores));
        m_threadHint->setStyleSheet(QStringLiteral("color: #b00020; font-weight: bold;"));
        m_threads->setStyleSheet(QStringLiteral("background: #ffe3e3;"));
    } else {
        m_threadHint->setText(t == cores ? tr("= cores") : tr("of %1 cores").arg(cores));
        m_threadHint->setStyleSheet(QStringLiteral("color: #555;"));
        m_threads->setStyleSheet(QString());
    }
}

} // namespace ui
