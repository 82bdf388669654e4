#include "ui/mainwindow.h"

#include "engine/measure/sweepexport.h"
#include "engine/measure/traceexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"
#include "ui/demodriver.h"
#include "ui/exportactions.h"
#include "ui/outputview.h"
#include "ui/promptlisteditor.h"
#include "ui/savedsettings.h"
#include "ui/sessionfile.h"
#include "ui/settingspanel.h"
#include "ui/speedupchart.h"
#include "ui/statstable.h"
#include "ui/sweepdialog.h"
#include "ui/timelineview.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

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

    // ---- prompts, sampling, parallelism
    m_settings = new SettingsPanel(panel);
    layout->addWidget(m_settings);
    connect(m_settings, &SettingsPanel::settingsChanged, this, &MainWindow::updateStatus);

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
    connect(c, &RunController::modelLoadStarted, this, &MainWindow::onModelLoadStarted);
    connect(c, &RunController::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(c, &RunController::modelLoadFailed, this, &MainWindow::onModelLoadFailed);
    connect(c, &RunController::runStarted, this, &MainWindow::onRunStarted);
    connect(c, &RunController::tokensReady, this, &MainWindow::onTokensReady);
    connect(c, &RunController::traceReady, this, &MainWindow::onTraceReady);
    connect(c, &RunController::phaseChanged, this, &MainWindow::onPhaseChanged);
    connect(c, &RunController::runFinished, this, &MainWindow::onRunFinished);
    connect(c, &RunController::runFailed, this, &MainWindow::onRunFailed);
    connect(c, &RunController::sweepProgress, this, &MainWindow::onSweepProgress);
    connect(c, &RunController::sweepFinished, this, &MainWindow::onSweepFinished);
    connect(c, &RunController::busyChanged, this, [this] { updateEnabled(); });
    connect(m_output, &OutputView::tokenSelected, m_timeline, &TimelineView::highlightToken);
    connect(m_model, &QComboBox::activated, this, &MainWindow::selectModelEntry);
}

void MainWindow::onModelLoadStarted(const QString& what)
{
    setState(tr("loading %1…").arg(QFileInfo(what).fileName()));
    updateEnabled();
}

void MainWindow::onModelLoaded(const ModelInfo& info)
{
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
    if (m_demo)
        m_demo->modelLoaded();
}

void MainWindow::onModelLoadFailed(const QString& message)
{
    setState(tr("ready"));
    updateEnabled();
    rebuildModelCombo(); // back to the entry of the model that is still loaded
    if (m_demo) {
        m_demo->fail("cannot load the model", message);
        return;
    }
    QMessageBox::warning(this, tr("Cannot open the model"),
        tr("The model could not be opened; the previous model stays loaded.\n\n%1").arg(message));
}

void MainWindow::onRunStarted(int id)
{
    m_runId = id;
    updateEnabled();
}

void MainWindow::onTokensReady(int id, const QVector<TokenPiece>& pieces)
{
    if (id == m_runId)
        m_output->appendPieces(pieces);
}

void MainWindow::onTraceReady(int id, const TraceBatch& batch)
{
    if (id != m_runId || !batch)
        return;
    m_trace.insert(m_trace.end(), batch->begin(), batch->end());
    m_timeline->appendEvents(*batch);
}

void MainWindow::onPhaseChanged(int id, const QString& phase)
{
    if (id == m_runId)
        setState(phase == QLatin1String("prefill") ? tr("prefilling…") : tr("decoding…"));
}

void MainWindow::onRunFinished(int id, const RunSummary& summary)
{
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
    if (m_demo)
        m_demo->runFinished();
}

void MainWindow::onRunFailed(int id, const QString& message)
{
    if (id != m_runId)
        return;
    m_progress->hide();
    m_cancelSweep->hide();
    setState(tr("failed"));
    updateEnabled();
    if (m_demo) {
        m_demo->fail("run failed", message);
        return;
    }
    QMessageBox::warning(this, tr("The run failed"), message);
}

void MainWindow::onSweepProgress(int id, int done, int total, const QString& label)
{
    if (id != m_runId)
        return;
    m_progress->setRange(0, total);
    m_progress->setValue(done);
    setState(tr("sweep: %1").arg(label));
}

void MainWindow::onSweepFinished(int id, const engine::SweepResult& result)
{
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
    if (m_demo)
        m_demo->sweepFinished();
}

PromptListEditor* MainWindow::prompts() const { return m_settings->prompts(); }

RunSettings MainWindow::currentSettings() const { return m_settings->settings(); }

void MainWindow::applySettings(const RunSettings& settings) { m_settings->setSettings(settings); }

void MainWindow::run()
{
    if (m_controller->isBusy() || !m_controller->model())
        return;
    RunSettings s = currentSettings();
    if (s.prompts.empty()) {
        QMessageBox::information(this, tr("Nothing to run"), tr("Type a prompt first."));
        return;
    }
    m_trace.clear();
    m_timeline->clear();
    m_timeline->setLaneCount(s.scheduler.threads);
    m_timeline->setLaneCpus(engine::Scheduler::pinnedCpus(s.scheduler));
    m_output->startRun(m_settings->prompts()->prompts());
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
    if (s.prompts.empty())
        s.prompts = { engine::kDefaultPrompt };
    s.trace = false;
    SweepSettings sweep;
    if (m_demo) {
        sweep = DemoDriver::sweepRequest(s);
    } else {
        QSettings settings;
        SweepDialog dialog(this);
        SavedSettings::restoreSweepDialog(settings, dialog);
        dialog.setScheduling(s.scheduler);
        if (dialog.exec() != QDialog::Accepted)
            return;
        sweep.workload = s;
        sweep.threads = dialog.threads();
        sweep.strategies = dialog.strategies();
        sweep.repeat = dialog.repeat();
        sweep.scaledWork = dialog.scaledWork();
        SavedSettings::saveSweep(settings, sweep);
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
    m_demo = new DemoDriver(this, screenshotPath);
    m_demo->start();
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
    m_statusThreads->setText(tr("%1 threads · %2 cores").arg(m_settings->threads()).arg(cores));
    m_statusState->setText(m_state);
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

void MainWindow::exportTrace()
{
    engine::TraceMeta meta;
    meta.model = m_controller->modelInfo().source.toStdString();
    meta.threads = m_lastRun ? m_lastRun->threads : m_settings->threads();
    meta.strategy = engine::strategyName(m_lastRun ? m_lastRun->strategy : engine::Strategy::IntraOp);
    meta.partitioner = engine::partitionerName(currentSettings().scheduler.partitioner);
    if (m_lastRun)
        meta.laneCpus = m_lastRun->pinnedCpus;
    const QString done = ExportActions::exportTrace(this, m_trace, meta);
    if (!done.isEmpty())
        setState(done);
}

void MainWindow::exportSweep()
{
    const QString done = ExportActions::exportSweep(this, m_lastSweep ? &*m_lastSweep : nullptr);
    if (!done.isEmpty())
        setState(done);
}

void MainWindow::saveScreenshot() { ExportActions::saveScreenshot(this); }

void MainWindow::saveSession()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save session"), QStringLiteral("session.json"), tr("Playground session (*.json)"));
    if (path.isEmpty())
        return;
    Session session;
    session.model = m_controller->modelInfo().source;
    session.settings = currentSettings();
    for (int i = 0; i < m_output->paneCount(); ++i) {
        session.outputTexts << m_output->text(i);
        session.outputStats << m_output->statsText(i);
    }
    if (m_lastSweep)
        session.sweep = engine::sweepToJson(*m_lastSweep);
    const QString error = SessionFile::write(path, session);
    if (!error.isEmpty())
        QMessageBox::warning(this, tr("Cannot save the session"), error);
}

void MainWindow::openSession()
{
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open session"), QString(), tr("Playground session (*.json)"));
    if (path.isEmpty())
        return;
    Session session;
    const QString error = SessionFile::read(path, session);
    if (!error.isEmpty()) {
        QMessageBox::warning(this, tr("Cannot open the session"), error);
        return;
    }
    applySettings(session.settings);
    const QString& model = session.model;
    if (model.startsWith(QLatin1String("synthetic:")))
        m_controller->loadSynthetic(model.mid(10));
    else if (!model.isEmpty() && QFileInfo::exists(model))
        m_controller->loadModel(model);
    if (!session.outputTexts.isEmpty())
        m_output->startRun(session.outputTexts); // the saved outputs, shown as they were (prompt and generated text)
    setState(tr("session opened: %1").arg(QFileInfo(path).fileName()));
}

void MainWindow::loadSettings()
{
    QSettings st;
    m_recentModels = st.value(QStringLiteral("model/recent")).toStringList();
    applySettings(SavedSettings::loadRun(st, currentSettings()));
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
    st.setValue(QStringLiteral("model/recent"), m_recentModels);
    st.setValue(QStringLiteral("model/last"), m_controller->model() ? m_controller->modelInfo().source : QString());
    SavedSettings::saveRun(st, currentSettings());
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
