#include "ui/mainwindow.h"

#include "engine/measure/sweepexport.h"
#include "engine/measure/traceexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"
#include "ui/outputview.h"
#include "ui/promptlisteditor.h"
#include "ui/speedupchart.h"
#include "ui/statstable.h"
#include "ui/sweepdialog.h"
#include "ui/timelineview.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <fstream>

namespace ui {

namespace {

// Model combo entries: the data is "default", "file:<path>" or "synthetic:<shape>".
const QString kDefaultEntry = QStringLiteral("default");

QString defaultModelFile()
{
    return QString::fromStdString(engine::defaultModelPath(QCoreApplication::applicationFilePath().toStdString()));
}

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_controller(new RunController(this))
{
    setWindowTitle(tr("LLM Thread Playground"));
    // Big enough to read on a projector.
    QFont f = font();
    if (f.pointSizeF() < 11)
        f.setPointSizeF(11);
    setFont(f);

    m_output = new OutputView(this);
    m_timeline = new TimelineView(this);
    m_chart = new SpeedupChart(this);
    m_stats = new StatsTable(this);

    auto* timelineBox = new QWidget(this);
    auto* timelineLayout = new QVBoxLayout(timelineBox);
    timelineLayout->setContentsMargins(0, 0, 0, 0);
    auto* timelineBar = new QHBoxLayout;
    auto* timelineTitle = new QLabel(tr("<b>Worker timeline</b> — wheel: zoom · drag: pan · hover: details"), this);
    auto* fit = new QToolButton(this);
    fit->setText(tr("Fit all"));
    fit->setToolTip(tr("Show the whole run (F)"));
    connect(fit, &QToolButton::clicked, m_timeline, &TimelineView::fitAll);
    timelineBar->addWidget(timelineTitle);
    timelineBar->addStretch();
    timelineBar->addWidget(fit);
    timelineLayout->addLayout(timelineBar);
    timelineLayout->addWidget(m_timeline, 1);

    m_tabs = new QTabWidget(this);
    m_tabs->addTab(m_chart, tr("Speedup"));
    m_tabs->addTab(m_stats, tr("Workers"));

    m_rightSplitter = new QSplitter(Qt::Vertical, this);
    m_rightSplitter->addWidget(m_output);
    m_rightSplitter->addWidget(timelineBox);
    m_rightSplitter->addWidget(m_tabs);
    m_rightSplitter->setStretchFactor(0, 3);
    m_rightSplitter->setStretchFactor(1, 3);
    m_rightSplitter->setStretchFactor(2, 4);
    m_rightSplitter->setSizes({ 260, 300, 440 });

    m_mainSplitter = new QSplitter(Qt::Horizontal, this);
    m_mainSplitter->addWidget(buildControls());
    m_mainSplitter->addWidget(m_rightSplitter);
    m_mainSplitter->setStretchFactor(0, 0);
    m_mainSplitter->setStretchFactor(1, 1);
    setCentralWidget(m_mainSplitter);

    m_statusModel = new QLabel(this);
    m_statusThreads = new QLabel(this);
    m_statusState = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(260);
    m_progress->setFormat(QStringLiteral("%v / %m"));
    m_progress->hide();
    m_cancelSweep = new QToolButton(this);
    m_cancelSweep->setText(tr("Cancel"));
    m_cancelSweep->hide();
    connect(m_cancelSweep, &QToolButton::clicked, this, &MainWindow::stop);
    statusBar()->addWidget(m_statusModel, 1);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancelSweep);
    statusBar()->addPermanentWidget(m_statusThreads);
    statusBar()->addPermanentWidget(m_statusState);

    buildMenus();
    connectController();
    loadSettings();
    setState(tr("ready"));
    updateThreadHint();
    updateEnabled();
}

MainWindow::~MainWindow() = default;

QWidget* MainWindow::buildControls()
{
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);

    // ---- model
    auto* modelBox = new QGroupBox(tr("Model"), panel);
    auto* modelLayout = new QVBoxLayout(modelBox);
    auto* modelRow = new QHBoxLayout;
    m_model = new QComboBox(modelBox);
    m_model->setToolTip(tr("The shipped model, recent GGUF files, or a synthetic model with random weights"));
    m_model->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_model->setMinimumContentsLength(18);
    auto* open = new QPushButton(tr("Open GGUF…"), modelBox);
    open->setToolTip(tr("Open any llama-family GGUF model file (Ctrl+O)"));
    connect(open, &QPushButton::clicked, this, &MainWindow::openModel);
    modelRow->addWidget(m_model, 1);
    modelRow->addWidget(open);
    modelLayout->addLayout(modelRow);
    m_modelFacts = new QLabel(tr("no model loaded"), modelBox);
    m_modelFacts->setWordWrap(true);
    m_modelFacts->setTextInteractionFlags(Qt::TextSelectableByMouse);
    modelLayout->addWidget(m_modelFacts);
    layout->addWidget(modelBox);

    // ---- prompts
    auto* promptBox = new QGroupBox(tr("Prompts"), panel);
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
    layout->addWidget(promptBox);

    // ---- sampling
    auto* sampling = new QGroupBox(tr("Sampling"), panel);
    auto* form = new QFormLayout(sampling);
    const engine::SamplingParams defaults;
    m_temperature = new QDoubleSpinBox(sampling);
    m_temperature->setRange(0.0, 5.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setValue(defaults.temperature);
    m_temperature->setToolTip(tr("Randomness: 0 always takes the most likely token (greedy); higher values flatten "
                                 "the distribution"));
    form->addRow(tr("Temperature"), m_temperature);
    m_topK = new QSpinBox(sampling);
    m_topK->setRange(0, 100000);
    m_topK->setValue(defaults.topK);
    m_topK->setToolTip(tr("Keep only the k most likely tokens before sampling (0 = off)"));
    form->addRow(tr("Top-k"), m_topK);
    m_topP = new QDoubleSpinBox(sampling);
    m_topP->setRange(0.01, 1.0);
    m_topP->setSingleStep(0.01);
    m_topP->setValue(defaults.topP);
    m_topP->setToolTip(
        tr("Nucleus sampling: keep the smallest set of tokens whose probabilities add up to p (1 = off)"));
    form->addRow(tr("Top-p"), m_topP);
    m_minP = new QDoubleSpinBox(sampling);
    m_minP->setRange(0.0, 1.0);
    m_minP->setSingleStep(0.01);
    m_minP->setValue(defaults.minP);
    m_minP->setToolTip(tr("Drop tokens less likely than min-p times the most likely one (0 = off)"));
    form->addRow(tr("Min-p"), m_minP);
    m_repeatPenalty = new QDoubleSpinBox(sampling);
    m_repeatPenalty->setRange(0.5, 3.0);
    m_repeatPenalty->setSingleStep(0.05);
    m_repeatPenalty->setValue(defaults.repeatPenalty);
    m_repeatPenalty->setToolTip(tr("Make the last 64 tokens less likely to repeat (1 = off; not used when greedy)"));
    form->addRow(tr("Repeat penalty"), m_repeatPenalty);
    m_maxTokens = new QSpinBox(sampling);
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(engine::kDefaultMaxTokens);
    m_maxTokens->setToolTip(tr("How many tokens to generate for each prompt (generation stops earlier at the end "
                               "of text or when the context is full)"));
    form->addRow(tr("Max tokens"), m_maxTokens);
    m_seed = new QSpinBox(sampling);
    m_seed->setRange(0, 2147483647);
    m_seed->setValue(int(defaults.seed));
    m_seed->setToolTip(tr("Random seed: the same seed, prompts and settings give the same tokens for every thread "
                          "count and strategy"));
    form->addRow(tr("Seed"), m_seed);
    layout->addWidget(sampling);

    // ---- parallelism
    auto* par = new QGroupBox(tr("Parallelism"), panel);
    auto* pform = new QFormLayout(par);
    const int cores = engine::Scheduler::hardwareThreads();
    m_threads = new QSpinBox(par);
    m_threads->setRange(1, std::min(engine::SchedulerOptions::kMaxThreads, 4 * cores));
    m_threads->setValue(cores);
    m_threads->setToolTip(tr("Threads in the task arena. This machine has %n core(s); more threads than cores "
                             "oversubscribe the CPU.",
        nullptr, cores));
    auto* threadRow = new QHBoxLayout;
    threadRow->addWidget(m_threads);
    m_threadHint = new QLabel(par);
    threadRow->addWidget(m_threadHint, 1);
    pform->addRow(tr("Threads"), threadRow);
    m_strategy = new QComboBox(par);
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
    m_grain->setRange(1, 4096);
    m_grain->setToolTip(tr("Minimum blocks per chunk (a block is 64 rows in prefill; when decoding, at least 16384 "
                           "weights and 16 rows; or one attention head)"));
    pform->addRow(tr("Grain"), m_grain);
    m_pin = new QCheckBox(tr("Pin threads to cores"), par);
    m_pin->setToolTip(tr("Give each arena slot its own core while it runs (slot i on core i). Without "
                         "it the OS may park a worker on the caller's core for milliseconds when the other core is "
                         "briefly busy, for instance with this window's drawing. Not applied when there are more "
                         "threads than cores."));
    m_pin->setChecked(true);
    pform->addRow(QString(), m_pin);
    layout->addWidget(par);
    connect(m_threads, &QSpinBox::valueChanged, this, [this] {
        updateThreadHint();
        updateStatus();
    });

    // ---- actions (in the tool bar, so they never scroll out of sight)
    m_runButton = new QPushButton(tr("▶  Run"), panel);
    m_runButton->setToolTip(tr("Generate for every prompt (Ctrl+Enter)"));
    m_runButton->setDefault(true);
    m_stopButton = new QPushButton(tr("Stop"), panel);
    m_stopButton->setToolTip(tr("Stop after the current token (Esc)"));
    m_sweepButton = new QPushButton(tr("Sweep…"), panel);
    m_sweepButton->setToolTip(tr("Measure the same work at several thread counts and chart the speedup"));
    m_runButton->setMinimumWidth(120);
    QFont bold = m_runButton->font();
    bold.setBold(true);
    m_runButton->setFont(bold);
    layout->addStretch();
    connect(m_runButton, &QPushButton::clicked, this, &MainWindow::run);
    connect(m_stopButton, &QPushButton::clicked, this, &MainWindow::stop);
    connect(m_sweepButton, &QPushButton::clicked, this, &MainWindow::sweep);

    auto* scroll = new QScrollArea(this);
    scroll->setWidget(panel);
    scroll->setWidgetResizable(true);
    scroll->setMinimumWidth(360);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    return scroll;
}

void MainWindow::buildMenus()
{
    QToolBar* bar = addToolBar(tr("Run"));
    bar->setObjectName(QStringLiteral("runToolBar"));
    bar->setMovable(false);
    bar->addWidget(m_runButton);
    bar->addWidget(m_stopButton);
    bar->addWidget(m_sweepButton);
    bar->addSeparator();
    auto* hint = new QLabel(tr("  Ctrl+Enter runs · Esc stops"), bar);
    hint->setStyleSheet(QStringLiteral("color: #666;"));
    bar->addWidget(hint);

    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open GGUF…"), QKeySequence::Open, this, &MainWindow::openModel);
    file->addSeparator();
    file->addAction(tr("Open &session…"), this, &MainWindow::openSession);
    file->addAction(tr("&Save session…"), QKeySequence::Save, this, &MainWindow::saveSession);
    file->addSeparator();
    file->addAction(tr("Export &trace (Perfetto / chrome://tracing)…"), this, &MainWindow::exportTrace);
    file->addAction(tr("Export s&weep (JSON / CSV)…"), this, &MainWindow::exportSweep);
    file->addAction(tr("Save screens&hot…"), this, &MainWindow::saveScreenshot);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    QAction* runAction = runMenu->addAction(tr("&Run"), this, &MainWindow::run);
    runAction->setShortcuts({ QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter) });
    QAction* stopAction = runMenu->addAction(tr("&Stop"), this, &MainWindow::stop);
    stopAction->setShortcut(Qt::Key_Escape);
    runMenu->addAction(tr("S&weep…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), this, &MainWindow::sweep);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Fit timeline"), QKeySequence(Qt::Key_F), m_timeline, &TimelineView::fitAll);
}

void MainWindow::connectController()
{
    RunController* c = m_controller;
    connect(c, &RunController::modelLoadStarted, this, [this](const QString& what) {
        setState(tr("loading %1…").arg(QFileInfo(what).fileName()));
        updateEnabled();
    });
    connect(c, &RunController::modelLoaded, this, [this](const ModelInfo& info) {
        m_modelFacts->setText(
            tr("<b>%1</b><br>%2 · %3 parameters · %4<br>%5 layers · dim %6 · %7 heads (%8 KV) · "
               "vocab %9 · context %10 · %11 MiB")
                .arg((info.name.isEmpty() ? QFileInfo(info.source).fileName() : info.name).toHtmlEscaped())
                .arg(info.architecture)
                .arg(QLocale().toString(info.parameters))
                .arg(info.type)
                .arg(info.layers)
                .arg(info.dim)
                .arg(info.heads)
                .arg(info.kvHeads)
                .arg(info.vocab)
                .arg(info.contextLength)
                .arg(double(info.fileBytes) / (1 << 20), 0, 'f', 1));
        m_modelFacts->setToolTip(info.source);
        m_lastGoodModel = info.source;
        if (!info.source.startsWith(QLatin1String("synthetic:")) && info.source != defaultModelFile())
            addRecentModel(info.source);
        setState(tr("ready"));
        updateStatus();
        updateEnabled();
        if (m_demo && m_demoStage == 0) {
            m_demoStage = 1;
            QTimer::singleShot(200, this, &MainWindow::run);
        }
    });
    connect(c, &RunController::modelLoadFailed, this, [this](const QString& message) {
        setState(tr("ready"));
        updateEnabled();
        rebuildModelCombo(); // back to the entry of the model that is still loaded
        if (m_demo) {
            qCritical("demo: cannot load the model: %s", qPrintable(message));
            QApplication::exit(1);
            return;
        }
        QMessageBox::warning(this, tr("Cannot open the model"),
            tr("The model could not be opened; the previous model stays loaded.\n\n%1").arg(message));
    });
    connect(c, &RunController::runStarted, this, [this](int id, int, int) {
        m_runId = id;
        updateEnabled();
    });
    connect(c, &RunController::tokensReady, this, [this](int id, const QVector<TokenPiece>& pieces) {
        if (id == m_runId)
            m_output->appendPieces(pieces);
    });
    connect(c, &RunController::traceReady, this, [this](int id, const TraceBatch& batch) {
        if (id != m_runId || !batch)
            return;
        m_trace.insert(m_trace.end(), batch->begin(), batch->end());
        m_timeline->appendEvents(*batch);
    });
    connect(c, &RunController::phaseChanged, this, [this](int id, const QString& phase) {
        if (id == m_runId)
            setState(phase == QLatin1String("prefill") ? tr("prefilling…") : tr("decoding…"));
    });
    connect(c, &RunController::runFinished, this, [this](int id, const RunSummary& summary) {
        if (id != m_runId)
            return;
        m_lastRun = summary;
        m_output->finishRun(summary);
        m_stats->setSummary(summary);
        m_timeline->fitAll();
        setState(summary.cancelled ? tr("stopped")
                                   : tr("done: %1 tokens in %2 s")
                                         .arg(summary.metrics.generatedTokens)
                                         .arg(summary.metrics.wallMs / 1000.0, 0, 'f', 2));
        updateEnabled();
        if (m_demo && m_demoStage == 1) {
            m_demoStage = 2;
            QTimer::singleShot(100, this, &MainWindow::sweep);
        }
    });
    connect(c, &RunController::runFailed, this, [this](int id, const QString& message) {
        if (id != m_runId)
            return;
        m_progress->hide();
        m_cancelSweep->hide();
        setState(tr("failed"));
        updateEnabled();
        if (m_demo) {
            qCritical("demo: run failed: %s", qPrintable(message));
            QApplication::exit(1);
            return;
        }
        QMessageBox::warning(this, tr("The run failed"), message);
    });
    connect(c, &RunController::sweepProgress, this, [this](int id, int done, int total, const QString& label) {
        if (id != m_runId)
            return;
        m_progress->setRange(0, total);
        m_progress->setValue(done);
        setState(tr("sweep: %1").arg(label));
    });
    connect(c, &RunController::sweepFinished, this, [this](int id, const engine::SweepResult& result) {
        if (id != m_runId)
            return;
        m_progress->hide();
        m_cancelSweep->hide();
        m_lastSweep = result;
        m_chart->setSweep(result);
        m_tabs->setCurrentWidget(m_chart);
        const bool cancelled = result.workload.value("cancelled", false);
        setState(cancelled ? tr("sweep cancelled") : tr("sweep done"));
        updateEnabled();
        if (m_demo && m_demoStage == 2) {
            m_demoStage = 3;
            QTimer::singleShot(300, this, [this] {
                if (!m_demoScreenshot.isEmpty() && !saveWindowImage(m_demoScreenshot)) {
                    qCritical("demo: cannot write %s", qPrintable(m_demoScreenshot));
                    QApplication::exit(1);
                    return;
                }
                QApplication::exit(0);
            });
        }
    });
    connect(c, &RunController::busyChanged, this, [this] { updateEnabled(); });
    connect(m_output, &OutputView::tokenSelected, m_timeline, &TimelineView::highlightToken);
    connect(m_model, &QComboBox::activated, this, &MainWindow::selectModelEntry);
}

RunSettings MainWindow::currentSettings() const
{
    RunSettings s;
    s.prompts = m_prompts->prompts();
    s.systemPrompt = m_system->toPlainText();
    s.chat = m_chat->isChecked();
    s.sampling.temperature = float(m_temperature->value());
    s.sampling.topK = m_topK->value();
    s.sampling.topP = float(m_topP->value());
    s.sampling.minP = float(m_minP->value());
    s.sampling.repeatPenalty = float(m_repeatPenalty->value());
    s.sampling.seed = uint64_t(m_seed->value());
    s.maxTokens = m_maxTokens->value();
    s.strategy = engine::Strategy(m_strategy->currentData().toInt());
    s.scheduler.threads = m_threads->value();
    s.scheduler.partitioner = engine::Partitioner(m_partitioner->currentData().toInt());
    s.scheduler.grain = size_t(m_grain->value());
    s.scheduler.pinThreads = m_pin->isChecked();
    return s;
}

void MainWindow::applySettings(const RunSettings& s)
{
    m_prompts->setPrompts(
        s.prompts.isEmpty() ? QStringList { QString::fromLatin1(engine::kDefaultPrompt) } : s.prompts);
    m_system->setPlainText(s.systemPrompt);
    m_chat->setChecked(s.chat);
    m_temperature->setValue(s.sampling.temperature);
    m_topK->setValue(s.sampling.topK);
    m_topP->setValue(s.sampling.topP);
    m_minP->setValue(s.sampling.minP);
    m_repeatPenalty->setValue(s.sampling.repeatPenalty);
    m_seed->setValue(int(std::min<uint64_t>(s.sampling.seed, 2147483647)));
    m_maxTokens->setValue(s.maxTokens);
    m_strategy->setCurrentIndex(std::max(0, m_strategy->findData(int(s.strategy))));
    m_threads->setValue(s.scheduler.threads);
    m_partitioner->setCurrentIndex(std::max(0, m_partitioner->findData(int(s.scheduler.partitioner))));
    m_grain->setValue(int(s.scheduler.grain));
    m_pin->setChecked(s.scheduler.pinThreads);
}

void MainWindow::run()
{
    if (m_controller->isBusy() || !m_controller->model())
        return;
    RunSettings s = currentSettings();
    if (s.prompts.isEmpty()) {
        QMessageBox::information(this, tr("Nothing to run"), tr("Type a prompt first."));
        return;
    }
    m_runPrompts = s.prompts;
    m_trace.clear();
    m_timeline->clear();
    m_timeline->setLaneCount(s.scheduler.threads);
    m_timeline->setLaneCpus(engine::Scheduler::pinnedCpus(s.scheduler));
    m_output->startRun(s.prompts);
    m_stats->clear();
    setState(tr("starting…"));
    m_controller->startRun(s);
}

void MainWindow::stop()
{
    if (!m_controller->isBusy())
        return;
    m_controller->stop();
    m_progress->hide();
    m_cancelSweep->hide();
    setState(tr("stopped"));
    updateEnabled();
}

void MainWindow::sweep()
{
    if (m_controller->isBusy() || !m_controller->model())
        return;
    RunSettings s = currentSettings();
    if (s.prompts.isEmpty())
        s.prompts = { QString::fromLatin1(engine::kDefaultPrompt) };
    s.trace = false;
    SweepSettings sweep;
    sweep.run = s;
    QSettings settings;
    if (m_demo) {
        const int cores = engine::Scheduler::hardwareThreads();
        sweep.threads.clear();
        for (int p = 1; p <= std::max(2, cores); ++p)
            sweep.threads.push_back(p);
        sweep.strategies = { engine::Strategy::IntraOp };
        if (s.prompts.size() > 1)
            sweep.strategies.push_back(engine::Strategy::Request);
        sweep.repeat = 5;
        sweep.run.maxTokens = s.maxTokens;
    } else {
        SweepDialog dialog(this);
        const auto saved = SweepDialog::parseThreadList(settings.value(QStringLiteral("sweep/threads")).toString());
        if (!saved.empty())
            dialog.setThreads(saved);
        dialog.setRepeat(settings.value(QStringLiteral("sweep/repeat"), 3).toInt());
        std::vector<engine::Strategy> strategies;
        for (const QString& name : settings.value(QStringLiteral("sweep/strategies")).toStringList())
            if (auto st = engine::strategyFromName(name.toStdString()))
                strategies.push_back(*st);
        if (!strategies.empty())
            dialog.setStrategies(strategies);
        if (dialog.exec() != QDialog::Accepted)
            return;
        sweep.threads = dialog.threads();
        sweep.strategies = dialog.strategies();
        sweep.repeat = dialog.repeat();
        sweep.scaledWork = dialog.scaledWork();
        QStringList parts, names;
        for (int p : sweep.threads)
            parts << QString::number(p);
        for (auto st : sweep.strategies)
            names << QString::fromLatin1(engine::strategyName(st));
        settings.setValue(QStringLiteral("sweep/threads"), parts.join(QLatin1Char(',')));
        settings.setValue(QStringLiteral("sweep/repeat"), sweep.repeat);
        settings.setValue(QStringLiteral("sweep/strategies"), names);
    }
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->show();
    m_cancelSweep->show();
    setState(tr("sweep starting…"));
    m_controller->startSweep(sweep);
}

void MainWindow::openModel()
{
    const QString start = m_recentModels.isEmpty() ? QString() : QFileInfo(m_recentModels.front()).absolutePath();
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open a GGUF model"), start, tr("GGUF models (*.gguf);;All files (*)"));
    if (path.isEmpty())
        return;
    m_controller->loadModel(path);
}

void MainWindow::addRecentModel(const QString& path)
{
    m_recentModels.removeAll(path);
    m_recentModels.prepend(path);
    while (m_recentModels.size() > 8)
        m_recentModels.removeLast();
    rebuildModelCombo();
}

void MainWindow::rebuildModelCombo()
{
    m_model->blockSignals(true);
    m_model->clear();
    const QString def = defaultModelFile();
    if (!def.isEmpty())
        m_model->addItem(tr("Default: %1").arg(QFileInfo(def).completeBaseName()), kDefaultEntry);
    for (const QString& path : m_recentModels)
        m_model->addItem(QFileInfo(path).fileName(), QStringLiteral("file:") + path);
    for (const auto& shape : engine::syntheticShapes())
        m_model->addItem(tr("Synthetic %1").arg(QString::fromStdString(shape.name)),
            QStringLiteral("synthetic:") + QString::fromStdString(shape.name));
    // Select the loaded model's entry.
    const QString loaded = m_controller->model() ? m_controller->modelInfo().source : m_lastGoodModel;
    int index = 0;
    for (int i = 0; i < m_model->count(); ++i) {
        const QString data = m_model->itemData(i).toString();
        if ((data == kDefaultEntry && loaded == def) || data == QStringLiteral("file:") + loaded || data == loaded)
            index = i;
    }
    m_model->setCurrentIndex(index);
    m_model->blockSignals(false);
}

void MainWindow::selectModelEntry(int index)
{
    const QString data = m_model->itemData(index).toString();
    if (data == kDefaultEntry)
        m_controller->loadModel(defaultModelFile());
    else if (data.startsWith(QLatin1String("file:")))
        m_controller->loadModel(data.mid(5));
    else if (data.startsWith(QLatin1String("synthetic:")))
        m_controller->loadSynthetic(data.mid(10));
}

void MainWindow::loadInitialModel(const QString& path)
{
    rebuildModelCombo();
    if (!path.isEmpty()) {
        m_controller->loadModel(path);
        return;
    }
    const QString last = QSettings().value(QStringLiteral("model/last")).toString();
    if (!m_demo && last.startsWith(QLatin1String("synthetic:"))) {
        m_controller->loadSynthetic(last.mid(10));
        return;
    }
    if (!m_demo && !last.isEmpty() && QFileInfo::exists(last)) {
        m_controller->loadModel(last);
        return;
    }
    const QString def = defaultModelFile();
    if (!def.isEmpty())
        m_controller->loadModel(def);
    else
        m_controller->loadSynthetic(QString::fromLatin1(engine::kFallbackSyntheticShape));
}

void MainWindow::startDemo(const QString& screenshotPath)
{
    m_demo = true;
    m_demoScreenshot = screenshotPath;
    m_demoStage = 0;
    m_prompts->setPrompts({ QString::fromLatin1(engine::kDefaultPrompt) });
    m_threads->setValue(engine::Scheduler::hardwareThreads());
    m_strategy->setCurrentIndex(m_strategy->findData(int(engine::Strategy::IntraOp)));
    m_temperature->setValue(engine::SamplingParams().temperature); // seeded: the same text every time
    m_pin->setChecked(true);
    loadInitialModel();
    // Never hang a headless run: give up after five minutes.
    QTimer::singleShot(5 * 60 * 1000, this, [] {
        qCritical("demo: timed out");
        QApplication::exit(1);
    });
}

void MainWindow::setState(const QString& state)
{
    m_state = state;
    updateStatus();
}

void MainWindow::updateStatus()
{
    const ModelInfo& info = m_controller->modelInfo();
    m_statusModel->setText(m_controller->model() ? info.summary() : tr("no model"));
    const int cores = engine::Scheduler::hardwareThreads();
    m_statusThreads->setText(tr("%1 threads · %2 cores").arg(m_threads->value()).arg(cores));
    m_statusState->setText(m_state);
}

void MainWindow::updateThreadHint()
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

void MainWindow::updateEnabled()
{
    const bool busy = m_controller->isBusy();
    const bool ready = m_controller->model() != nullptr;
    m_runButton->setEnabled(!busy && ready);
    m_sweepButton->setEnabled(!busy && ready);
    m_stopButton->setEnabled(busy);
    m_model->setEnabled(!busy);
}

bool MainWindow::saveWindowImage(const QString& path) { return grab().save(path, "PNG"); }

void MainWindow::exportTrace()
{
    if (m_trace.empty()) {
        QMessageBox::information(this, tr("No trace yet"),
            tr("Run something first: the trace of the last run is "
               "exported."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export trace"), QStringLiteral("trace.json"), tr("Chrome trace (*.json)"));
    if (path.isEmpty())
        return;
    try {
        engine::TraceMeta meta;
        meta.model = m_controller->modelInfo().source.toStdString();
        meta.threads = m_lastRun ? m_lastRun->threads : m_threads->value();
        meta.strategy = engine::strategyName(m_lastRun ? m_lastRun->strategy : engine::Strategy::IntraOp);
        meta.partitioner = m_partitioner->currentText().toStdString();
        if (m_lastRun)
            meta.laneCpus = m_lastRun->pinnedCpus;
        engine::writeChromeTrace(path.toStdString(), m_trace, meta);
        setState(tr("trace saved: %1").arg(QFileInfo(path).fileName()));
    } catch (const std::exception& e) {
        QMessageBox::warning(this, tr("Cannot save the trace"), QString::fromUtf8(e.what()));
    }
}

void MainWindow::exportSweep()
{
    if (!m_lastSweep) {
        QMessageBox::information(this, tr("No sweep yet"), tr("Run a sweep first."));
        return;
    }
    QString filter;
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export sweep"), QStringLiteral("sweep.json"), tr("JSON (*.json);;CSV (*.csv)"), &filter);
    if (path.isEmpty())
        return;
    const bool csv
        = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive) || filter.startsWith(QLatin1String("CSV"));
    const std::string content = csv ? engine::sweepToCsv(*m_lastSweep) : engine::sweepToJson(*m_lastSweep).dump(2);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(content.data(), qint64(content.size())) != qint64(content.size())) {
        QMessageBox::warning(this, tr("Cannot save the sweep"), tr("Could not write %1.").arg(path));
        return;
    }
    setState(tr("sweep saved: %1").arg(QFileInfo(path).fileName()));
}

void MainWindow::saveScreenshot()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save screenshot"), QStringLiteral("playground.png"), tr("PNG image (*.png)"));
    if (path.isEmpty())
        return;
    if (!saveWindowImage(path))
        QMessageBox::warning(this, tr("Cannot save the screenshot"), tr("Could not write %1.").arg(path));
}

void MainWindow::saveSession()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save session"), QStringLiteral("session.json"), tr("Playground session (*.json)"));
    if (path.isEmpty())
        return;
    const RunSettings s = currentSettings();
    QJsonObject o;
    o[QStringLiteral("format")] = QStringLiteral("llm-playground-session-1");
    o[QStringLiteral("model")] = m_controller->modelInfo().source;
    o[QStringLiteral("prompts")] = QJsonArray::fromStringList(m_prompts->prompts());
    o[QStringLiteral("system")] = s.systemPrompt;
    o[QStringLiteral("chat")] = s.chat;
    o[QStringLiteral("temperature")] = s.sampling.temperature;
    o[QStringLiteral("top_k")] = s.sampling.topK;
    o[QStringLiteral("top_p")] = s.sampling.topP;
    o[QStringLiteral("min_p")] = s.sampling.minP;
    o[QStringLiteral("repeat_penalty")] = s.sampling.repeatPenalty;
    o[QStringLiteral("seed")] = qint64(s.sampling.seed);
    o[QStringLiteral("max_tokens")] = s.maxTokens;
    o[QStringLiteral("threads")] = s.scheduler.threads;
    o[QStringLiteral("strategy")] = QString::fromLatin1(engine::strategyName(s.strategy));
    o[QStringLiteral("partitioner")] = QString::fromLatin1(engine::partitionerName(s.scheduler.partitioner));
    o[QStringLiteral("grain")] = int(s.scheduler.grain);
    o[QStringLiteral("pin_threads")] = s.scheduler.pinThreads;
    QJsonArray outputs;
    for (int i = 0; i < m_output->paneCount(); ++i)
        outputs.append(QJsonObject {
            { QStringLiteral("text"), m_output->text(i) }, { QStringLiteral("stats"), m_output->statsText(i) } });
    o[QStringLiteral("outputs")] = outputs;
    if (m_lastSweep)
        o[QStringLiteral("sweep")]
            = QJsonDocument::fromJson(QByteArray::fromStdString(engine::sweepToJson(*m_lastSweep).dump())).object();
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson()) < 0)
        QMessageBox::warning(this, tr("Cannot save the session"), tr("Could not write %1.").arg(path));
}

void MainWindow::openSession()
{
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open session"), QString(), tr("Playground session (*.json)"));
    if (path.isEmpty())
        return;
    QFile f(path);
    QJsonParseError error;
    const QJsonDocument doc
        = f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll(), &error) : QJsonDocument();
    const QJsonObject o = doc.object();
    if (o.value(QStringLiteral("format")).toString() != QLatin1String("llm-playground-session-1")) {
        QMessageBox::warning(this, tr("Cannot open the session"), tr("%1 is not a playground session.").arg(path));
        return;
    }
    RunSettings s = currentSettings();
    QStringList prompts;
    for (const auto& v : o.value(QStringLiteral("prompts")).toArray())
        prompts << v.toString();
    s.prompts = prompts;
    s.systemPrompt = o.value(QStringLiteral("system")).toString();
    s.chat = o.value(QStringLiteral("chat")).toBool(true);
    s.sampling.temperature = float(o.value(QStringLiteral("temperature")).toDouble(s.sampling.temperature));
    s.sampling.topK = o.value(QStringLiteral("top_k")).toInt(s.sampling.topK);
    s.sampling.topP = float(o.value(QStringLiteral("top_p")).toDouble(s.sampling.topP));
    s.sampling.minP = float(o.value(QStringLiteral("min_p")).toDouble(s.sampling.minP));
    s.sampling.repeatPenalty = float(o.value(QStringLiteral("repeat_penalty")).toDouble(s.sampling.repeatPenalty));
    s.sampling.seed = uint64_t(o.value(QStringLiteral("seed")).toInteger(qint64(s.sampling.seed)));
    s.maxTokens = o.value(QStringLiteral("max_tokens")).toInt(s.maxTokens);
    s.scheduler.threads = o.value(QStringLiteral("threads")).toInt(s.scheduler.threads);
    if (auto st = engine::strategyFromName(o.value(QStringLiteral("strategy")).toString().toStdString()))
        s.strategy = *st;
    if (auto p = engine::partitionerFromName(o.value(QStringLiteral("partitioner")).toString().toStdString()))
        s.scheduler.partitioner = *p;
    s.scheduler.grain = size_t(std::max(1, o.value(QStringLiteral("grain")).toInt(1)));
    s.scheduler.pinThreads = o.value(QStringLiteral("pin_threads")).toBool(false);
    applySettings(s);
    const QString model = o.value(QStringLiteral("model")).toString();
    if (model.startsWith(QLatin1String("synthetic:")))
        m_controller->loadSynthetic(model.mid(10));
    else if (!model.isEmpty() && QFileInfo::exists(model))
        m_controller->loadModel(model);
    const QJsonArray outputs = o.value(QStringLiteral("outputs")).toArray();
    if (!outputs.isEmpty()) {
        QStringList texts;
        for (const auto& v : outputs)
            texts << v.toObject().value(QStringLiteral("text")).toString();
        m_output->startRun(texts); // the saved outputs, shown as they were (prompt and generated text)
    }
    setState(tr("session opened: %1").arg(QFileInfo(path).fileName()));
}

void MainWindow::loadSettings()
{
    QSettings st;
    m_recentModels = st.value(QStringLiteral("model/recent")).toStringList();
    RunSettings s = currentSettings();
    s.prompts = st.value(QStringLiteral("run/prompts"), QStringList { QString::fromLatin1(engine::kDefaultPrompt) })
                    .toStringList();
    s.systemPrompt = st.value(QStringLiteral("run/system")).toString();
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
    applySettings(s);
    if (st.contains(QStringLiteral("window/geometry")))
        restoreGeometry(st.value(QStringLiteral("window/geometry")).toByteArray());
    else
        resize(1600, 1000);
    m_mainSplitter->restoreState(st.value(QStringLiteral("window/mainSplitter")).toByteArray());
    m_rightSplitter->restoreState(st.value(QStringLiteral("window/rightSplitter")).toByteArray());
}

void MainWindow::saveSettings() const
{
    QSettings st;
    const RunSettings s = currentSettings();
    st.setValue(QStringLiteral("model/recent"), m_recentModels);
    st.setValue(QStringLiteral("model/last"), m_controller->model() ? m_controller->modelInfo().source : QString());
    st.setValue(QStringLiteral("run/prompts"), m_prompts->prompts());
    st.setValue(QStringLiteral("run/system"), s.systemPrompt);
    st.setValue(QStringLiteral("run/chat"), s.chat);
    st.setValue(QStringLiteral("run/temperature"), s.sampling.temperature);
    st.setValue(QStringLiteral("run/topK"), s.sampling.topK);
    st.setValue(QStringLiteral("run/topP"), s.sampling.topP);
    st.setValue(QStringLiteral("run/minP"), s.sampling.minP);
    st.setValue(QStringLiteral("run/repeatPenalty"), s.sampling.repeatPenalty);
    st.setValue(QStringLiteral("run/seed"), qulonglong(s.sampling.seed));
    st.setValue(QStringLiteral("run/maxTokens"), s.maxTokens);
    st.setValue(QStringLiteral("run/threads"), s.scheduler.threads);
    st.setValue(QStringLiteral("run/strategy"), QString::fromLatin1(engine::strategyName(s.strategy)));
    st.setValue(
        QStringLiteral("run/partitioner"), QString::fromLatin1(engine::partitionerName(s.scheduler.partitioner)));
    st.setValue(QStringLiteral("run/grain"), int(s.scheduler.grain));
    st.setValue(QStringLiteral("run/pin_threads"), s.scheduler.pinThreads);
    st.setValue(QStringLiteral("window/geometry"), saveGeometry());
    st.setValue(QStringLiteral("window/mainSplitter"), m_mainSplitter->saveState());
    st.setValue(QStringLiteral("window/rightSplitter"), m_rightSplitter->saveState());
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (!m_demo)
        saveSettings();
    m_controller->stop(); // the worker finishes its current token; the controller's destructor joins it
    event->accept();
}

} // namespace ui
