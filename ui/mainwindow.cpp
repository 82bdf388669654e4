#include "ui/mainwindow.h"

#include "engine/measure/sweepexport.h"
#include "engine/measure/traceexport.h"
#include "engine/model/synthetic.h"
#include "engine/run/defaults.h"
#include "ui/abpanel.h"
#include "ui/chatpanel.h"
#include "ui/compareview.h"
#include "ui/demodriver.h"
#include "ui/demopanel.h"
#include "ui/exportactions.h"
#include "ui/focushighlight.h"
#include "ui/historypanel.h"
#include "ui/lessondriver.h"
#include "ui/outputview.h"
#include "ui/promptlibrary.h"
#include "ui/promptlibrarydialog.h"
#include "ui/promptlisteditor.h"
#include "ui/rooflinechart.h"
#include "ui/samplingpanel.h"
#include "ui/savedsettings.h"
#include "ui/sessionfile.h"
#include "ui/settingspanel.h"
#include "ui/speedupchart.h"
#include "ui/statstable.h"
#include "ui/sweepdialog.h"
#include "ui/timelineview.h"
#include "ui/whypanel.h"

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
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QSet>
#include <QSettings>
#include <QShortcut>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace ui {

namespace {

// Model combo entries: the data is "default", "file:<path>" or "synthetic:<shape>".
const QString kDefaultEntry = QStringLiteral("default");

QString defaultModelFile()
{
    return QString::fromStdString(engine::defaultModelPath(QCoreApplication::applicationFilePath().toStdString()));
}

// `text` cut after its last whole word that fits `width` with "…" (never inside a word, unless not even the first
// word fits); the whole text when it fits.
QString elideAtWord(const QString& text, const QFontMetrics& fm, int width)
{
    if (fm.horizontalAdvance(text) <= width)
        return text;
    const QString ellipsis = QStringLiteral("…");
    for (qsizetype end = text.lastIndexOf(QLatin1Char(' ')); end > 0;
         end = text.lastIndexOf(QLatin1Char(' '), end - 1)) {
        QString head = text.left(end);
        // No separator or colon left dangling before the ellipsis.
        while (!head.isEmpty()
            && (head.back().isSpace() || head.back() == QChar(0x00b7) || head.back() == QLatin1Char(':')
                || head.back() == QLatin1Char(',')))
            head.chop(1);
        if (!head.isEmpty() && fm.horizontalAdvance(head + ellipsis) <= width)
            return head + ellipsis;
    }
    return fm.elidedText(text, Qt::ElideRight, width);
}

// A status bar label that shows as much of its text as its width allows, cut between words, the whole text in its
// tool tip; it never widens the window.
class ElidedLabel : public QLabel {
public:
    explicit ElidedLabel(QWidget* parent)
        : QLabel(parent)
    {
        // As wide as its text where there is room, down to a few words where there is not.
        setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    }
    void setFullText(const QString& text, const QString& toolTip = {})
    {
        m_full = text;
        setToolTip(toolTip.isEmpty() ? text : toolTip);
        updateShown();
        updateGeometry();
    }
    QSize sizeHint() const override
    {
        return QSize(fontMetrics().horizontalAdvance(m_full) + 2 * margin() + 4, QLabel::sizeHint().height());
    }
    QSize minimumSizeHint() const override
    {
        return QSize(fontMetrics().averageCharWidth() * 10, QLabel::minimumSizeHint().height());
    }

protected:
    void resizeEvent(QResizeEvent* event) override
    {
        QLabel::resizeEvent(event);
        updateShown();
    }
    void changeEvent(QEvent* event) override
    {
        QLabel::changeEvent(event);
        if (event->type() == QEvent::FontChange)
            updateShown();
    }

private:
    void updateShown() { setText(elideAtWord(m_full, fontMetrics(), contentsRect().width())); }
    QString m_full;
};

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
    m_normalFont = f;
    m_normalAppFont = QApplication::font();

    m_output = new OutputView(this);
    m_chat = new ChatPanel(this);
    m_ab = new AbPanel(this);
    m_timeline = new TimelineView(this);
    m_chart = new SpeedupChart(this);
    m_stats = new StatsTable(this);
    m_why = new WhyPanel(this);
    m_roofline = new RooflineChart(this);

    auto* timelineBox = new QWidget(this);
    m_timelineBox = timelineBox;
    auto* timelineLayout = new QVBoxLayout(timelineBox);
    timelineLayout->setContentsMargins(0, 0, 0, 0);
    auto* timelineBar = new QHBoxLayout;
    // The click hint first: on a narrow window the end of the line is clipped.
    auto* timelineTitle = new QLabel(tr("<b>Worker timeline</b> — click a generated token above to outline its "
                                        "chunks · wheel: zoom · drag: pan · hover: details"),
        this);
    timelineTitle->setToolTip(tr("One lane per worker thread. Bar height: the share of each pixel column's time the "
                                 "worker was busy; colour: the op that took most of it. Click a generated token in "
                                 "the output to outline the chunks that computed it."));
    // Clipped rather than widening the window on a small screen; the tool tip says it all.
    timelineTitle->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    auto* fit = new QToolButton(this);
    fit->setText(tr("Fit all"));
    fit->setToolTip(tr("Show the whole run (F)"));
    connect(fit, &QToolButton::clicked, m_timeline, &TimelineView::fitAll);
    timelineBar->addWidget(timelineTitle, 1);
    timelineBar->addWidget(fit);
    timelineLayout->addLayout(timelineBar);
    timelineLayout->addWidget(m_timeline, 1);

    m_tabs = new QTabWidget(this);
    // The chart's controls need more room than a 720-line screen leaves this pane: it scrolls there
    // instead of making the window taller or wider than the screen.
    auto* chartPage = new QScrollArea(this);
    chartPage->setWidget(m_chart);
    chartPage->setWidgetResizable(true);
    chartPage->setFrameShape(QFrame::NoFrame);
    m_chartPage = chartPage;
    // The run's explanation first: it is what a user looks for under the timeline after a run.
    auto* whyPage = new QScrollArea(this);
    whyPage->setWidget(m_why);
    whyPage->setWidgetResizable(true);
    whyPage->setFrameShape(QFrame::NoFrame);
    m_whyPage = whyPage;
    m_tabs->addTab(m_whyPage, tr("Why"));
    m_tabs->setTabToolTip(0,
        tr("Where the threads' time went in the last run, and why (click a chunk in the "
           "timeline for its region)"));
    m_tabs->addTab(m_roofline, tr("Roofline"));
    m_tabs->setTabToolTip(1, tr("Each op of the last run against this machine's memory and arithmetic ceilings"));
    m_tabs->addTab(m_chartPage, tr("Speedup"));
    m_tabs->addTab(m_stats, tr("Workers"));
    m_history = new HistoryPanel(this);
    m_tabs->addTab(m_history, tr("History"));
    m_tabs->setTabToolTip(
        m_tabs->indexOf(m_history), tr("Every run and sweep of this session: show one again, or compare two"));

    // The prompts' output, the chat and the A/B table share the top pane: each is a way of asking the model.
    m_outputTabs = new QTabWidget(this);
    m_outputTabs->setDocumentMode(true);
    // In scroll areas: on a short screen the pane may be smaller than the panels' controls need. The output too:
    // its prompts' figures are never cut, they scroll (presentation mode on a projector's 768 lines).
    auto scrolled = [this](QWidget* page) {
        auto* area = new QScrollArea(this);
        area->setWidget(page);
        area->setWidgetResizable(true);
        area->setFrameShape(QFrame::NoFrame);
        area->setMinimumHeight(area->fontMetrics().height() * 2); // what the pane can spare for a chart
        return area;
    };
    m_outputTabs->addTab(scrolled(m_output), tr("Output"));
    m_outputTabs->addTab(scrolled(m_chat), tr("Chat"));
    m_outputTabs->setTabToolTip(
        1, tr("A conversation with the model's chat template, the KV cache reused across turns"));
    m_outputTabs->addTab(scrolled(m_ab), tr("Prompt A/B"));
    m_outputTabs->setTabToolTip(2, tr("The prompt list's prompts compared under the same settings and several seeds"));
    connect(m_outputTabs, &QTabWidget::currentChanged, this, [this](int index) {
        // The chat and the table need more room than a run's output: grow the pane if it is small, mostly at the
        // timeline's expense (down to its minimum) so the tabs under it keep a few rows.
        const QList<int> sizes = m_rightSplitter->sizes();
        const int total = sizes.value(0) + sizes.value(1) + sizes.value(2);
        if (index > 0 && total > 0 && sizes.value(0) < total * 45 / 100) {
            const int timeline = std::max(m_timelineBox->minimumSizeHint().height(), total * 22 / 100);
            m_rightSplitter->setSizes({ total * 50 / 100, timeline, total - total * 50 / 100 - timeline });
        }
    });
    m_sampling = new SamplingPanel(this);
    m_tabs->addTab(m_sampling, tr("Sampling"));
    m_tabs->setTabToolTip(
        m_tabs->indexOf(m_sampling), tr("The selected token's candidates step by step through the sampler's chain"));
    // In presentation mode the charts and tables under the timeline need more than a third of a short screen.
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] {
        if (m_presentation && isVisible())
            growTabsForPresentation();
    });

    m_rightSplitter = new QSplitter(Qt::Vertical, this);
    m_rightSplitter->addWidget(m_outputTabs);
    m_rightSplitter->addWidget(timelineBox);
    m_rightSplitter->addWidget(m_tabs);
    m_rightSplitter->setStretchFactor(0, 3);
    m_rightSplitter->setStretchFactor(1, 4);
    m_rightSplitter->setStretchFactor(2, 3);
    // A dragged splitter stops at each pane's minimum instead of hiding the pane (and saving that).
    m_rightSplitter->setChildrenCollapsible(false);

    m_mainSplitter = new QSplitter(Qt::Horizontal, this);
    m_mainSplitter->addWidget(buildControls());
    // A lesson's panel takes the controls' place while it is open: the settings it runs are the lesson's.
    m_demoPanel = new DemoPanel(this);
    m_demoPanel->hide();
    m_mainSplitter->addWidget(m_demoPanel);
    m_mainSplitter->addWidget(m_rightSplitter);
    m_mainSplitter->setStretchFactor(0, 0);
    m_mainSplitter->setStretchFactor(1, 0);
    m_mainSplitter->setStretchFactor(2, 1);
    m_mainSplitter->setChildrenCollapsible(false);
    setCentralWidget(m_mainSplitter);
    setDefaultSplitterSizes(QSize(1600, 1000));

    // Long model names and states are cut between words (the tool tips say it all), not allowed to set the
    // window's minimum width.
    m_statusModel = new ElidedLabel(this);
    m_statusModel->setObjectName(QStringLiteral("statusModel"));
    m_statusThreads = new QLabel(this);
    m_statusState = new ElidedLabel(this);
    m_statusState->setObjectName(QStringLiteral("statusState"));
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
    statusBar()->addPermanentWidget(m_statusState, 1);

    connectController();
    buildLessons(); // after connectController: the driver hears of a result after the views drew it
    buildMenus();
    m_defaultSettings = currentSettings();
    loadSettings();
    markPromptsKept(); // the saved prompts are on disk: nothing typed yet
    // Autosave starts after the saved settings are back, so restoring them does not count as an edit.
    m_autosave = new QTimer(this);
    m_autosave->setSingleShot(true);
    m_autosave->setInterval(kAutosaveDelayMs);
    connect(m_autosave, &QTimer::timeout, this, &MainWindow::autosave);
    connect(m_settings, &SettingsPanel::settingsChanged, m_autosave, qOverload<>(&QTimer::start));
    setState(tr("ready"));
    updateEnabled();
}

MainWindow::~MainWindow()
{
    // The controller is a child: QWidget's destructor would stop it after this window's own part is gone, and its
    // busyChanged would then call updateEnabled() on a half-destroyed window (a window destroyed without being
    // closed, as when the application quits). Stopped here, every signal still finds a whole window.
    m_controller->stop();
    // Presentation mode's application font is this window's doing.
    if (m_presentation)
        QApplication::setFont(m_normalAppFont);
}

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
    m_shownRunModel = new QLabel(modelBox);
    m_shownRunModel->setObjectName(QStringLiteral("shownRunModel"));
    m_shownRunModel->setTextFormat(Qt::PlainText); // a model's name is not markup
    m_shownRunModel->setWordWrap(true);
    m_shownRunModel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_shownRunModel->setStyleSheet(QStringLiteral("color: #9a4b00;"));
    m_shownRunModel->hide();
    modelLayout->addWidget(m_shownRunModel);
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
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFrameShape(QFrame::NoFrame);
    m_controls = panel;
    m_controlsScroll = scroll;
    // The column is always as wide as its widest control needs, so it never scrolls sideways out of
    // sight (there is no horizontal scroll bar); fitControlsWidth() follows the panel's layout.
    panel->installEventFilter(this);
    fitControlsWidth();
    return scroll;
}

void MainWindow::fitControlsWidth()
{
    if (!m_controls || !m_controlsScroll)
        return;
    const int bar = m_controlsScroll->verticalScrollBar()->sizeHint().width();
    const int frame = 2 * m_controlsScroll->frameWidth();
    m_controlsScroll->setMinimumWidth(m_controls->minimumSizeHint().width() + bar + frame);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_controls && event->type() == QEvent::LayoutRequest)
        fitControlsWidth();
    return QMainWindow::eventFilter(watched, event);
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
    // Grey by its palette, not a style sheet: a style sheet fixes the label's font once (it stayed small, in
    // presentation mode too).
    QPalette grey = hint->palette();
    grey.setColor(QPalette::WindowText, QColor(0x66, 0x66, 0x66));
    hint->setPalette(grey);
    bar->addWidget(hint);
    m_sessionBanner = new QLabel(bar);
    // A tool bar shows and hides its widgets through their actions.
    m_sessionBannerAction = bar->addWidget(m_sessionBanner);
    m_sessionBannerAction->setVisible(false);

    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open GGUF…"), QKeySequence::Open, this, &MainWindow::openModel);
    file->addSeparator();
    file->addAction(tr("Open &session…"), this, &MainWindow::openSession);
    file->addAction(tr("&Save session…"), QKeySequence::Save, this, &MainWindow::saveSession);
    file->addSeparator();
    file->addAction(tr("Export &trace (Perfetto / chrome://tracing)…"), this, &MainWindow::exportTrace);
    file->addAction(tr("Export s&weep (JSON / CSV)…"), this, &MainWindow::exportSweep);
    file->addAction(tr("Export timeline &image (PNG / SVG)…"), this, &MainWindow::exportTimelineImage);
    file->addAction(tr("Export &chart image (PNG / SVG)…"), this, &MainWindow::exportChartImage);
    m_reportAction = file->addAction(tr("Export &report (HTML)…"), this, &MainWindow::exportReport);
    connect(file, &QMenu::aboutToShow, this, [this] {
        const QString subject = reportSubject(reportOptions());
        m_reportAction->setText(
            subject.isEmpty() ? tr("Export &report (HTML)…") : tr("Export &report of %1 (HTML)…").arg(subject));
    });
    file->addAction(tr("Save screens&hot…"), this, &MainWindow::saveScreenshot);
    file->addAction(tr("Prompt &library…"), QKeySequence(Qt::CTRL | Qt::Key_L), this, &MainWindow::showPromptLibrary);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    QAction* runAction = runMenu->addAction(tr("&Run"), this, &MainWindow::run);
    runAction->setShortcuts({ QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter) });
    QAction* stopAction = runMenu->addAction(tr("&Stop"), this, &MainWindow::stop);
    stopAction->setShortcut(Qt::Key_Escape);
    runMenu->addAction(tr("S&weep…"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S), this, &MainWindow::sweep);
    runMenu->addAction(tr("&Chat"), this, [this] { m_outputTabs->setCurrentIndex(1); });
    runMenu->addAction(tr("Prompt &A/B…"), this, [this] { m_outputTabs->setCurrentIndex(2); });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Fit timeline"), QKeySequence(Qt::Key_F), m_timeline, &TimelineView::fitAll);
    QAction* probabilities = view->addAction(tr("Token &probabilities"));
    probabilities->setCheckable(true);
    probabilities->setChecked(m_output->probabilityColouring());
    probabilities->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
    probabilities->setToolTip(tr("Keep each token's alternatives in runs, colour tokens by their probability and "
                                 "show the alternatives of a clicked token"));
    connect(probabilities, &QAction::toggled, m_output, &OutputView::setProbabilityColouring);
    view->addSeparator();
    m_presentAction = view->addAction(tr("&Presentation mode (large text)"));
    m_presentAction->setCheckable(true);
    m_presentAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    connect(m_presentAction, &QAction::triggered, this, [this](bool on) {
        m_savedPresentation = on;
        setPresentation(on);
    });
    view->addSeparator();
    view->addAction(tr("&Reset layout"), this, &MainWindow::resetLayout);

    QMenu* demos = menuBar()->addMenu(tr("&Demos"));
    const auto& lessons = engine::lessons::allLessons();
    for (size_t i = 0; i < lessons.size(); ++i) {
        QAction* a = demos->addAction(tr("&%1  %2").arg(i + 1).arg(QString::fromStdString(lessons[i]->title())), this,
            [this, i] { openLesson(int(i)); });
        a->setToolTip(QString::fromStdString(lessons[i]->summary()));
        a->setStatusTip(QString::fromStdString(lessons[i]->summary()));
    }
    demos->setToolTipsVisible(true);
    demos->addSeparator();
    QAction* nextLesson = demos->addAction(tr("&Next demonstration"), m_lessons, &LessonDriver::next);
    nextLesson->setShortcuts({ QKeySequence(Qt::CTRL | Qt::Key_BracketRight), QKeySequence(Qt::Key_PageDown) });
    QAction* previousLesson = demos->addAction(tr("&Previous demonstration"), m_lessons, &LessonDriver::previous);
    previousLesson->setShortcuts({ QKeySequence(Qt::CTRL | Qt::Key_BracketLeft), QKeySequence(Qt::Key_PageUp) });
    QAction* rerunLesson = demos->addAction(tr("&Rerun"), m_lessons, &LessonDriver::rerun);
    rerunLesson->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    QAction* leave = demos->addAction(tr("&Back to my settings"), this, &MainWindow::leaveLesson);
    // The lesson shortcuts act only while the panel is open; Page Up/Down stay the text fields' otherwise.
    for (QAction* a : { nextLesson, previousLesson, rerunLesson, leave }) {
        a->setEnabled(false);
        a->setProperty("shortcutScope", tr("while a demonstration is open"));
    }
    connect(m_lessons, &LessonDriver::lessonStarted, this, [nextLesson, previousLesson, rerunLesson, leave] {
        for (QAction* a : { nextLesson, previousLesson, rerunLesson, leave })
            a->setEnabled(true);
    });
    connect(m_lessons, &LessonDriver::left, this, [nextLesson, previousLesson, rerunLesson, leave] {
        for (QAction* a : { nextLesson, previousLesson, rerunLesson, leave })
            a->setEnabled(false);
    });

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard shortcuts"), QKeySequence::HelpContents, this, &MainWindow::showShortcuts);
    help->addAction(tr("&What each view shows"), this, &MainWindow::showViewsHelp);
    help->addSeparator();
    help->addAction(tr("Reset &settings…"), this, &MainWindow::resetSettings);
    help->addSeparator();
    help->addAction(tr("&About LLM Thread Playground"), this, &MainWindow::showAbout);
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
    connect(c, &RunController::analysisStarted, this, &MainWindow::onAnalysisStarted);
    connect(c, &RunController::reportReady, this, &MainWindow::onReportReady);
    connect(m_timeline, &TimelineView::regionSelected, this,
        [this](const engine::TraceEvent& region, const engine::TraceEvent& chunk) {
            m_selectedChunk = chunk;
            m_why->showRegion(region, chunk, m_trace);
            m_tabs->setCurrentWidget(m_whyPage);
        });
    connect(m_timeline, &TimelineView::selectionCleared, this, [this] {
        m_selectedChunk.reset();
        m_why->clearRegion();
    });
    connect(c, &RunController::sweepProgress, this, &MainWindow::onSweepProgress);
    connect(c, &RunController::sweepFinished, this, &MainWindow::onSweepFinished);
    connect(c, &RunController::busyChanged, this, [this] { updateEnabled(); });
    connect(m_output, &OutputView::tokenSelected, m_timeline, &TimelineView::highlightToken);
    connect(m_output, &OutputView::tokenAlternativesSelected, this, &MainWindow::showSamplingOf);
    connect(m_output, &OutputView::continueRequested, this, &MainWindow::continueFrom);
    connect(m_model, &QComboBox::activated, this, &MainWindow::selectModelEntry);
    connect(m_chat, &ChatPanel::turnRequested, this, &MainWindow::startChatTurn);
    connect(m_ab, &AbPanel::runRequested, this, &MainWindow::startPromptAb);
    connect(c, &RunController::abProgress, this, [this](int id, int done, int total) {
        if (id == m_runId)
            m_ab->setProgress(done, total);
    });
    connect(c, &RunController::abFinished, this, [this](int id, const engine::PromptAbResult& result) {
        if (id != m_runId)
            return;
        m_ab->setResult(result);
        setState(result.cancelled ? tr("A/B stopped") : tr("A/B done"));
        updateEnabled();
    });
    auto variants = [this] { m_ab->setVariantCount(int(m_settings->prompts()->prompts().size())); };
    connect(m_settings->prompts(), &PromptListEditor::promptsChanged, this, variants);
    variants();
    connect(m_history, &HistoryPanel::runChosen, this, &MainWindow::showRun);
    // Chosen in the History tab, a sweep is drawn on the Speedup tab without leaving History: the user may be
    // selecting a second one to compare with.
    connect(m_history, &HistoryPanel::sweepChosen, this, [this](int index) { showSweep(index, false); });
    connect(m_history, &HistoryPanel::compareRuns, this, [this](int a, int b) { compareRuns(a, b); });
    connect(m_history, &HistoryPanel::compareSweeps, this, [this](int a, int b) { compareSweeps(a, b); });
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
    if (info.source.startsWith(QLatin1String("synthetic:")))
        m_modelFacts->setText(m_modelFacts->text()
            + tr("<br><i>Synthetic: random weights, so its text is meaningless; its timings are real.</i>"));
    m_modelFacts->setToolTip(info.source);
    m_lastGoodModel = info.source;
    // The model the user chose is here now: whatever session is shown can be run again.
    if (m_readOnly && m_modelChosen) {
        m_readOnly = false;
        m_sessionBannerAction->setVisible(false);
    }
    m_settings->setModelContextLength(info.contextLength);
    updateShownRunModel();
    m_chat->setModel(m_controller->model());
    m_outputTabs->setTabToolTip(1,
        m_chat->available() ? tr("A conversation with the model's chat template, the KV "
                                 "cache reused across turns")
                            : tr("Chat is not available: %1").arg(m_chat->unavailableReason()));
    if (!info.source.startsWith(QLatin1String("synthetic:")) && info.source != defaultModelFile())
        addRecentModel(info.source);
    rebuildModelCombo(); // the drop-down names the model now loaded, however it was chosen
    setState(tr("ready"));
    updateStatus();
    updateEnabled();
    if (m_demo)
        m_demo->modelLoaded();
}

void MainWindow::onModelLoadFailed(const QString& message)
{
    setState(m_controller->model() ? tr("ready") : tr("no model loaded"));
    updateEnabled();
    rebuildModelCombo(); // back to the entry of the model that is still loaded
    if (m_demo) {
        m_demo->fail("cannot load the model", message);
        return;
    }
    if (m_lessons->isRunning())
        return; // the lesson's panel says it
    // At start (a bad --model, a moved file) there is no previous model to fall back on.
    const QString consequence = m_controller->model()
        ? tr("The model could not be opened; %1 stays loaded.").arg(m_controller->modelInfo().summary())
        : tr("The model could not be opened, and no model is loaded: choose one in the Model list or open a "
             "GGUF file.");
    QMessageBox::warning(this, tr("Cannot open the model"), QStringLiteral("%1\n\n%2").arg(consequence, message));
}

void MainWindow::onRunStarted(int id)
{
    m_runId = id;
    updateEnabled();
}

void MainWindow::onTokensReady(int id, const QVector<TokenPiece>& pieces)
{
    if (id != m_runId)
        return;
    if (m_runKind == RunKind::Chat) {
        QString text;
        for (const TokenPiece& p : pieces)
            text += p.text;
        m_chat->appendReply(text);
        return;
    }
    m_output->appendPieces(pieces);
    m_pieces += pieces;
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
    if (m_runKind == RunKind::Chat) {
        m_chat->finishTurn(summary);
    } else {
        m_runs.push_back(SessionFile::record(*m_runSettings, summary, m_pieces, m_trace));
        m_runModels.push_back({ m_controller->modelInfo().source, m_controller->modelInfo().name, std::nullopt });
        m_shownModel = m_runModels.back(); // still shown if another model is loaded next
        m_recordedRunId = id;
        m_shownRun = int(m_runs.size()) - 1;
        m_history->setHistory(m_runs, m_sweeps);
        m_output->finishRun(summary);
        if (!summary.sequences.empty() && !summary.sequences.front().alternatives.empty())
            showSamplingOf(0, int(summary.sequences.front().alternatives.size()) - 1);
        else
            m_sampling->clear();
    }
    m_stats->setSummary(summary);
    m_timeline->setRunWallNs(int64_t(summary.metrics.wallMs * 1e6)); // the Workers tab's denominator
    m_timeline->fitAll();
    // A stopped run keeps and shows what it measured; the state says it is partial.
    QString state
        = (summary.cancelled ? tr("stopped: %1 tokens in %2 s (up to the stop)") : tr("done: %1 tokens in %2 s"))
              .arg(summary.metrics.generatedTokens)
              .arg(summary.metrics.wallMs / 1000.0, 0, 'f', 2);
    if (const QString busy = busyMachineWarning(summary.backgroundLoad); !busy.isEmpty())
        state += QStringLiteral(" · ") + busy;
    if (!m_skippedPrompts.isEmpty() && m_runKind == RunKind::Prompts)
        state += QStringLiteral(" · ") + m_skippedPrompts;
    setState(state);
    m_runState = state;
    if (m_trace.empty()) {
        m_why->setUntraced();
        m_roofline->clear();
    }
    updateEnabled();
    if (m_demo)
        m_demo->runFinished();
}

void MainWindow::onAnalysisStarted(int id, bool measuringMachine)
{
    if (id != m_runId)
        return;
    m_why->setAnalysing(measuringMachine);
    if (measuringMachine)
        setState(tr("measuring this machine's ceilings (once, a few seconds)…")); // the run's state comes back
}

void MainWindow::onReportReady(int id, const RunReportPtr& report)
{
    if (id != m_runId)
        return;
    if (m_state != m_runState)
        setState(m_runState);
    if (!report) {
        m_why->setAnalysisFailed();
        return;
    }
    if (m_recordedRunId == id && !m_runs.empty())
        m_runs.back().report = *report;
    m_why->setReport(*report, m_lastRun && m_lastRun->cancelled);
    m_roofline->setReport(*report);
    // A region clicked while the analysis ran gets its figures now.
    if (const auto region = m_timeline->selectedRegion(); region && m_selectedChunk)
        m_why->showRegion(*region, *m_selectedChunk, m_trace);
}

void MainWindow::onRunFailed(int id, const QString& message)
{
    if (id != m_runId)
        return;
    m_progress->hide();
    m_cancelSweep->hide();
    setState(tr("failed"));
    updateEnabled();
    if (m_runKind == RunKind::Chat) {
        m_chat->failTurn(message); // said in the chat, where the user is looking
        return;
    }
    if (m_runKind == RunKind::Ab)
        m_ab->setFailed(message);
    if (m_demo) {
        m_demo->fail("run failed", message);
        return;
    }
    if (m_lessons->isRunning())
        return; // the lesson's panel says it
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
    m_sweeps.push_back({ session::SessionFile::nowUtc(), result });
    m_shownSweep = int(m_sweeps.size()) - 1;
    m_history->setHistory(m_runs, m_sweeps);
    m_chart->setSweep(result);
    m_tabs->setCurrentWidget(m_chartPage);
    const bool cancelled = result.workload.value("cancelled", false);
    // A cancelled sweep keeps the points it measured (runSweep returns them); say how many.
    int points = 0;
    for (const auto& strategy : result.strategies)
        points += int(strategy.decodeScaling.points.size());
    QString state;
    if (!cancelled)
        state = tr("sweep done");
    else if (points == 0)
        state = tr("sweep cancelled before any point was measured");
    else
        state = tr("sweep cancelled: showing the %n point(s) measured before the cancel", nullptr, points);
    if (const QString busy = busyMachineWarning(result.backgroundLoad); !busy.isEmpty())
        state += QStringLiteral(" · ") + busy;
    setState(state);
    updateEnabled();
    if (m_demo)
        m_demo->sweepFinished();
}

PromptListEditor* MainWindow::prompts() const { return m_settings->prompts(); }

RunSettings MainWindow::currentSettings() const { return m_settings->settings(); }

void MainWindow::applySettings(const RunSettings& settings) { m_settings->setSettings(settings); }

void MainWindow::run()
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model() || !m_demoPanel->isHidden())
        return;
    RunSettings s = currentSettings();
    if (s.prompts.empty()) {
        QMessageBox::information(this, tr("Nothing to run"), tr("Type a prompt first."));
        return;
    }
    s.topAlternatives = m_output->probabilityColouring() ? engine::kDefaultTopAlternatives : 0;
    if (runWith(s) != 0) {
        markPromptsKept(); // they are in the run's record now
        QStringList skipped;
        for (int n : prompts()->emptyEntries())
            skipped << QString::number(n);
        m_skippedPrompts = skipped.isEmpty() ? QString()
            : skipped.size() == 1            ? tr("empty prompt %1 skipped").arg(skipped.front())
                                             : tr("empty prompts %1 skipped").arg(skipped.join(QStringLiteral(", ")));
        if (!m_skippedPrompts.isEmpty())
            setState(tr("starting… (%1)").arg(m_skippedPrompts));
    }
}

void MainWindow::continueFrom(int sequence, int tokenIndex, int32_t id)
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model() || !m_runSettings || sequence < 0
        || sequence >= int(m_runSettings->prompts.size()))
        return;
    RunSettings s = *m_runSettings;
    s.forcedTokens.resize(s.prompts.size());
    // Only this prompt branches; the others, forced as before, come out as they were.
    s.forcedTokens[size_t(sequence)]
        = engine::branchTokens(m_output->generatedTokens(sequence), size_t(tokenIndex), id);
    runWith(s);
}

void MainWindow::showSamplingOf(int sequence, int tokenIndex)
{
    const engine::TokenAlternatives* a = m_output->alternatives(sequence, tokenIndex);
    if (a && m_runSettings)
        m_sampling->showToken(sequence, tokenIndex, *a, m_runSettings->sampling);
}

int MainWindow::runWith(const RunSettings& s)
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model() || s.prompts.empty())
        return 0;
    m_skippedPrompts.clear(); // run() sets it again after this
    m_runSettings = s;
    m_shownModel.reset(); // a live run: the loaded model's
    updateShownRunModel();
    m_pieces.clear();
    m_trace.clear();
    m_timeline->clear();
    m_timeline->setLaneCount(s.scheduler.threads);
    m_timeline->setLaneCpus(engine::Scheduler::pinnedCpus(s.scheduler));
    QStringList prompts;
    for (const std::string& p : s.prompts)
        prompts << QString::fromStdString(p);
    m_output->startRun(prompts);
    m_stats->clear();
    m_why->setRunning();
    m_roofline->clear();
    setState(tr("starting…"));
    m_runKind = RunKind::Prompts;
    return m_controller->startRun(s);
}

void MainWindow::startChatTurn(engine::ChatAction action, const QString& text)
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model() || !m_chat->available())
        return;
    const RunSettings s = currentSettings();
    ChatTurnSettings turn;
    turn.action = action;
    turn.text = text;
    // The chat's own field, else the settings' system prompt (one place to type it is enough).
    turn.systemPrompt
        = m_chat->systemPrompt().isEmpty() ? QString::fromStdString(s.systemPrompt) : m_chat->systemPrompt();
    turn.request.sampling = s.sampling;
    turn.request.maxTokens = s.maxTokens;
    turn.scheduler = s.scheduler;
    turn.trace = s.trace;
    m_trace.clear();
    m_timeline->clear();
    m_timeline->setLaneCount(s.scheduler.threads);
    m_timeline->setLaneCpus(engine::Scheduler::pinnedCpus(s.scheduler));
    m_stats->clear();
    m_why->setRunning();
    m_roofline->clear();
    setState(tr("chat turn…"));
    m_runKind = RunKind::Chat;
    m_chat->turnStarted(action, text);
    m_controller->startChatTurn(m_chat->conversation(), turn);
}

void MainWindow::startPromptAb(int seeds)
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model())
        return;
    engine::PromptAbRequest request;
    request.run = currentSettings();
    request.run.strategy = engine::Strategy::Request; // a seed's variants are independent sequences
    request.variants = request.run.prompts;
    request.seeds = seeds;
    request.firstSeed = request.run.sampling.seed;
    try {
        request.validate();
    } catch (const std::invalid_argument& e) {
        m_ab->setFailed(QString::fromUtf8(e.what()));
        return;
    }
    m_runKind = RunKind::Ab;
    m_ab->started(int(request.variants.size()), seeds);
    setState(tr("prompt A/B…"));
    m_controller->startPromptAb(request);
}

void MainWindow::showPromptLibrary()
{
    if (!m_library) {
        m_library
            = std::make_unique<PromptLibrary>(m_libraryPath.isEmpty() ? PromptLibrary::defaultPath() : m_libraryPath);
        if (const QString error = m_library->load(); !error.isEmpty())
            QMessageBox::warning(this, tr("Prompt library"), error);
    }
    auto* dialog = new PromptLibraryDialog(
        *m_library,
        [this] {
            RunSettings s = currentSettings();
            if (m_chat->available() && !m_chat->systemPrompt().isEmpty())
                s.systemPrompt = m_chat->systemPrompt().toStdString();
            return s;
        },
        this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &PromptLibraryDialog::loadRequested, this, [this](const SavedPrompt& saved) {
        applySettings(saved.settings);
        m_chat->setSystemPrompt(QString::fromStdString(saved.settings.systemPrompt));
        setState(tr("loaded \"%1\" from the prompt library").arg(saved.name));
    });
    dialog->show();
}

void MainWindow::stop()
{
    // Esc in a lesson: stop it (the user's settings come back); once it is over, leave it.
    if (m_lessons->isRunning()) {
        m_lessons->stop();
        setState(tr("demonstration stopped: your settings are back"));
        return;
    }
    if (!m_controller->isBusy()) {
        if (!m_demoPanel->isHidden())
            leaveLesson();
        return;
    }
    const bool sweeping = !m_cancelSweep->isHidden();
    m_controller->stop();
    m_progress->hide();
    m_cancelSweep->hide();
    // What was measured up to the stop arrives within one token (onRunFinished, onSweepFinished).
    setState(sweeping ? tr("cancelling the sweep…") : tr("stopping…"));
    updateEnabled();
}

void MainWindow::sweep()
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model() || !m_demoPanel->isHidden())
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
    sweepWith(sweep);
}

int MainWindow::sweepWith(const SweepSettings& sweep)
{
    if (m_controller->isBusy() || m_controller->isLoading() || !m_controller->model())
        return 0;
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->show();
    m_cancelSweep->show();
    setState(tr("sweep starting…"));
    return m_controller->startSweep(sweep);
}

void MainWindow::openModel()
{
    const QString start = m_recentModels.isEmpty() ? QString() : QFileInfo(m_recentModels.front()).absolutePath();
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open a GGUF model"), start, tr("GGUF models (*.gguf);;All files (*)"));
    if (path.isEmpty())
        return;
    m_modelChosen = true;
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
    int index = -1; // none: the placeholder says so rather than naming a model that is not loaded
    m_model->setPlaceholderText(tr("no model loaded"));
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
    m_modelChosen = true;
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
    m_saveOnClose = false;
    connect(m_demo, &DemoDriver::finished, this, [this] {
        // The window is the user's now: errors show as dialogs again, not as an exit code.
        m_demo->deleteLater();
        m_demo = nullptr;
        setState(tr("demo done: change the settings and run again"));
    });
    m_demo->start();
}

void MainWindow::buildLessons()
{
    m_lessons = new LessonDriver(this);
    DemoPanel* panel = m_demoPanel;
    LessonDriver* d = m_lessons;
    connect(panel, &DemoPanel::previousRequested, d, &LessonDriver::previous);
    connect(panel, &DemoPanel::nextRequested, d, &LessonDriver::next);
    connect(panel, &DemoPanel::rerunRequested, d, &LessonDriver::rerun);
    connect(panel, &DemoPanel::stopRequested, this, [this] {
        m_lessons->stop();
        setState(tr("demonstration stopped: your settings are back"));
    });
    connect(panel, &DemoPanel::leaveRequested, this, &MainWindow::leaveLesson);
    connect(panel, &DemoPanel::focusRequested, this, &MainWindow::showFocus);
    connect(d, &LessonDriver::lessonStarted, this, [this, panel](int index, int count) {
        const engine::lessons::Lesson* l = engine::lessons::allLessons()[size_t(index)];
        panel->showLesson(QString::fromStdString(l->title()), QString::fromStdString(l->summary()), index, count);
        showDemoPanel(true);
        setState(tr("demonstration: %1").arg(QString::fromStdString(l->title())));
    });
    connect(d, &LessonDriver::stepStarted, panel, &DemoPanel::showStep);
    connect(d, &LessonDriver::progress, panel, &DemoPanel::setProgress);
    connect(d, &LessonDriver::lessonFinished, this, [this, panel] {
        panel->showExplanation(m_lessons->measured(), m_lessons->explanation());
        if (!m_lessons->explanation().lookAt.empty())
            showFocus(m_lessons->explanation().lookAt.front());
        setState(tr("demonstration done: %1").arg(QString::fromStdString(m_lessons->lesson()->title())));
    });
    connect(d, &LessonDriver::lessonFailed, this, [this, panel](const QString& message) {
        panel->showFailure(message);
        setState(tr("demonstration failed"));
        updateEnabled();
    });
    connect(d, &LessonDriver::lessonStopped, panel, &DemoPanel::showStopped);
    connect(d, &LessonDriver::left, this, [this] {
        showDemoPanel(false);
        setState(tr("ready: your own settings"));
    });
}

void MainWindow::showDemoPanel(bool shown)
{
    if (shown == !m_demoPanel->isHidden())
        return;
    const QList<int> sizes = m_mainSplitter->sizes();
    const int side = std::max(sizes.value(0), sizes.value(1));
    m_demoPanel->setVisible(shown);
    m_controlsScroll->setVisible(!shown);
    updateEnabled();
    // The panel gets the controls' width, and at least a readable column.
    const int total = std::max(1, sizes.value(0) + sizes.value(1) + sizes.value(2));
    const int width = shown ? std::max({ side, m_demoPanel->minimumSizeHint().width(), total * 28 / 100 }) : side;
    m_mainSplitter->setSizes(shown ? QList<int> { 0, width, total - width } : QList<int> { width, 0, total - width });
}

void MainWindow::openLesson(int index)
{
    if (m_demo)
        return; // --demo drives the window
    m_lessons->startAt(index);
}

void MainWindow::leaveLesson()
{
    if (m_lessons->isActive() || m_lessons->isRunning())
        m_lessons->leave();
    else
        showDemoPanel(false);
}

bool MainWindow::startLesson(const QString& name, const QString& screenshotPath)
{
    if (!engine::lessons::findLesson(name.toStdString()))
        return false;
    if (!screenshotPath.isEmpty()) {
        m_saveOnClose = false; // a headless picture leaves the user's saved settings alone
        connect(m_lessons, &LessonDriver::lessonFinished, this, [this, screenshotPath] {
            // After the panel and the highlighted view have painted.
            QTimer::singleShot(500, this, [this, screenshotPath] {
                if (!ExportActions::saveWindowImage(this, screenshotPath)) {
                    qCritical("demo-preset: cannot write %s", qPrintable(screenshotPath));
                    QApplication::exit(1);
                    return;
                }
                QApplication::exit(0);
            });
        });
        connect(m_lessons, &LessonDriver::lessonFailed, this, [](const QString& message) {
            qCritical("demo-preset: %s", qPrintable(message));
            QApplication::exit(1);
        });
        // Never hang a headless run: give up after five minutes.
        QTimer::singleShot(5 * 60 * 1000, this, [] {
            qCritical("demo-preset: timed out");
            QApplication::exit(1);
        });
    }
    // Started once the event loop runs: the window shows the panel and the first step's model loads.
    QTimer::singleShot(0, this, [this, name] { m_lessons->start(name); });
    return true;
}

QWidget* MainWindow::focusWidget(engine::lessons::Focus focus) const
{
    switch (focus) {
    case engine::lessons::Focus::Output:
        return m_output;
    case engine::lessons::Focus::Timeline:
        return m_timelineBox;
    case engine::lessons::Focus::SpeedupChart:
        return m_chartPage;
    case engine::lessons::Focus::WhyPanel:
        return m_whyPage;
    case engine::lessons::Focus::Roofline:
        return m_roofline;
    case engine::lessons::Focus::Stats:
        return m_stats;
    }
    return nullptr;
}

void MainWindow::showFocus(engine::lessons::Focus focus)
{
    QWidget* target = focusWidget(focus);
    if (!target)
        return;
    // A lesson's sweep figures come from one phase: the chart shows that one, so its numbers are the text's.
    if (focus == engine::lessons::Focus::SpeedupChart && m_lessons)
        if (const auto phase = m_lessons->speedupPhase())
            m_chart->setPhase(*phase);
    if (m_tabs->indexOf(target) >= 0) {
        m_tabs->setCurrentWidget(target);
        // Under the timeline a chart is small on a projector's screen: the tabs get most of the height.
        const QList<int> sizes = m_rightSplitter->sizes();
        const int total = sizes.value(0) + sizes.value(1) + sizes.value(2);
        if (sizes.value(2) < total / 2)
            m_rightSplitter->setSizes({ total * 20 / 100, total * 25 / 100, total - total * 45 / 100 });
    }
    FocusHighlight::flash(target, 5000);
}

void MainWindow::setPresentation(bool on)
{
    if (m_presentAction)
        m_presentAction->setChecked(on);
    if (on == m_presentation)
        return;
    // Leaving gives back exactly the layout presentation mode started from (the wide controls of the large text
    // would otherwise stay).
    if (on)
        m_layoutBeforePresentation
            = SavedLayout { m_mainSplitter->saveState(), m_rightSplitter->saveState(), isVisible() ? size() : QSize() };
    m_presentation = on;
    const double scale = on ? kPresentationScale : 1.0;
    const double oldPointSize = font().pointSizeF();
    QFont f = m_normalFont;
    f.setPointSizeF(m_normalFont.pointSizeF() * scale);
    // The application's font too: dialogs and tool tips are windows of their own and do not inherit the window's.
    QFont app = m_normalAppFont;
    if (on)
        app.setPointSizeF(f.pointSizeF());
    QApplication::setFont(app);
    setFont(f);
    followWindowFont(oldPointSize);
    // A chart may take the output's place (growTabsForPresentation); outside presentation mode no pane closes.
    m_rightSplitter->setCollapsible(0, on);
    m_chart->setPresentationScale(scale);
    m_roofline->setPresentationScale(scale);
    // The minimum sizes of the new font, before the panes are shared out.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
    fitControlsWidth();
    if (on) {
        // Before the window is shown the splitters do not have their real sizes yet.
        if (isVisible())
            fitPresentationLayout();
        else
            QTimer::singleShot(0, this, [this] {
                if (m_presentation)
                    fitPresentationLayout();
            });
    } else if (m_layoutBeforePresentation) {
        const SavedLayout saved = *m_layoutBeforePresentation;
        m_layoutBeforePresentation.reset();
        if (saved.window.isValid() && !isMaximized() && !isFullScreen())
            resize(saved.window);
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
        m_mainSplitter->restoreState(saved.mainSplitter);
        m_rightSplitter->restoreState(saved.rightSplitter);
    }
    setState(on ? tr("presentation mode: large text") : tr("presentation mode off"));
}

void MainWindow::followWindowFont(double oldPointSize)
{
    // A widget with a style sheet keeps the font it had when first polished, and one given an explicit font (the
    // bold Run button) keeps that: the run button, the shortcut hint, the warnings and the prompts' figures stayed
    // small in presentation mode. Those still at the old size take the new one, keeping their weight and style.
    const double newPointSize = font().pointSizeF();
    if (oldPointSize <= 0 || qFuzzyCompare(oldPointSize, newPointSize))
        return;
    for (QWidget* w : findChildren<QWidget*>()) {
        if (w->isWindow() || !(w->testAttribute(Qt::WA_StyleSheet) || w->testAttribute(Qt::WA_SetFont)))
            continue;
        QFont wf = w->font();
        if (!qFuzzyCompare(wf.pointSizeF(), oldPointSize))
            continue; // follows the window already, or has a size of its own
        wf.setPointSizeF(newPointSize);
        w->setFont(wf);
    }
}

void MainWindow::fitPresentationLayout()
{
    // The controls at their narrowest: the large text needs the width on the right more.
    QList<int> main = m_mainSplitter->sizes();
    const int width = main.value(0) + main.value(1) + main.value(2);
    if (m_demoPanel->isHidden() && width > 0) {
        const int controls = std::min(main.value(0), m_controlsScroll->minimumWidth());
        m_mainSplitter->setSizes({ controls, 0, width - controls });
    }
    // The timeline its legend and two lanes at least (its minimum height), the rest shared by the output (which
    // scrolls rather than cut its figures) and the tabs, whose charts need a readable plot.
    const QList<int> right = m_rightSplitter->sizes();
    const int h = right.value(0) + right.value(1) + right.value(2);
    if (h <= 0)
        return;
    const int timeline = std::max(m_timelineBox->minimumSizeHint().height(), h * 30 / 100);
    const int output = std::max(m_outputTabs->minimumSizeHint().height(), (h - timeline) * 45 / 100);
    m_rightSplitter->setSizes({ output, timeline, std::max(0, h - timeline - output) });
    // Entered with a chart on show: it gets the height it would get had it been picked now.
    if (m_tabs->currentWidget() == m_chartPage || m_tabs->currentWidget() == m_roofline)
        growTabsForPresentation();
}

void MainWindow::growTabsForPresentation()
{
    // A chart or table in the tabs, on a projector's short screen: the output and the timeline give up what they
    // can spare above their minimum heights (as when a lesson points at a chart).
    const QList<int> sizes = m_rightSplitter->sizes();
    const int total = sizes.value(0) + sizes.value(1) + sizes.value(2);
    if (total <= 0)
        return;
    const bool chart = m_tabs->currentWidget() == m_chartPage || m_tabs->currentWidget() == m_roofline;
    const int timeline = std::max(m_timelineBox->minimumSizeHint().height(), total * 25 / 100);
    // Back from a chart that took the output's place: the output returns.
    if (!chart && sizes.value(0) == 0) {
        const int output = std::max(m_outputTabs->minimumSizeHint().height(), total * 25 / 100);
        m_rightSplitter->setSizes({ output, timeline, std::max(0, total - output - timeline) });
        return;
    }
    // A tall screen's third is enough.
    if (sizes.value(2) >= total / 2 || sizes.value(2) >= 420)
        return;
    // The other tabs leave the output a fifth. A chart needs the output's place on a short screen (1366×768): a
    // plot under the large text's tabs and timeline is a few lines high otherwise; choosing another tab, or
    // dragging the handle, brings the output back.
    int output = std::max(m_outputTabs->minimumSizeHint().height(), total * 20 / 100);
    if (chart)
        output = total - timeline - m_outputTabs->minimumSizeHint().height() >= 420
            ? m_outputTabs->minimumSizeHint().height()
            : 0;
    if (output + timeline < total - sizes.value(2))
        m_rightSplitter->setSizes({ output, timeline, total - output - timeline });
}

void MainWindow::setState(const QString& state)
{
    m_state = state;
    updateStatus();
}

void MainWindow::updateStatus()
{
    const ModelInfo& info = m_controller->modelInfo();
    static_cast<ElidedLabel*>(m_statusModel)->setFullText(m_controller->model() ? info.summary() : tr("no model"));
    const int cores = engine::Scheduler::hardwareThreads();
    m_statusThreads->setText(tr("%1 threads · %2 cores").arg(m_settings->threads()).arg(cores));
    // Long states (a session's file name, a sweep point) are cut between words, not allowed to widen the window.
    // A context the model was not trained for is said where errors go, before the run is refused.
    const QString contextStatus = m_settings->contextStatus();
    const QString state = contextStatus.isEmpty() ? m_state : contextStatus + QStringLiteral(" · ") + m_state;
    const QString contextWarning = m_settings->contextWarning();
    static_cast<ElidedLabel*>(m_statusState)
        ->setFullText(state, contextWarning.isEmpty() ? state : state + QLatin1Char('\n') + contextWarning);
}

void MainWindow::updateEnabled()
{
    const bool busy = m_controller->isBusy();
    const bool ready = m_controller->model() != nullptr && !m_controller->isLoading(); // not the old model
    const bool lesson = !m_demoPanel->isHidden(); // the loaded model is the lesson's: leave it first
    m_runButton->setEnabled(!busy && ready && !lesson && !m_readOnly);
    m_sweepButton->setEnabled(!busy && ready && !lesson && !m_readOnly);
    m_stopButton->setEnabled(busy);
    m_model->setEnabled(!busy);
    // A lesson's model or a read-only session's: nothing of the user's runs until they leave it or choose a model.
    m_chat->setBusy(busy || !ready || lesson || m_readOnly);
    m_ab->setBusy(busy || !ready || lesson || m_readOnly);
}

void MainWindow::exportTrace()
{
    engine::TraceMeta meta;
    meta.model = (m_shownModel ? m_shownModel->source : m_controller->modelInfo().source).toStdString();
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

session::Session MainWindow::currentSession() const
{
    session::Session out;
    const ModelInfo& info = m_controller->modelInfo();
    try {
        out.model = session::ModelRef::of(info.source.toStdString(), info.name.toStdString());
    } catch (const std::exception&) {
        out.model.path = info.source.toStdString(); // moved since it was loaded: no size or hash to give
        out.model.name = info.name.toStdString();
    }
    // A session names one model for all its runs: when they were all made with another model than the one
    // loaded (a read-only session, or a model chosen since), that is the one it names.
    if (!m_runModels.empty()
        && std::all_of(m_runModels.begin(), m_runModels.end(),
            [&](const RunModel& m) { return m.source == m_runModels.front().source; })
        && m_runModels.front().source != info.source && !m_runModels.front().source.isEmpty()) {
        const RunModel& m = m_runModels.front();
        if (m.ref) {
            out.model = *m.ref;
        } else {
            try {
                out.model = session::ModelRef::of(m.source.toStdString(), m.name.toStdString());
            } catch (const std::exception&) {
                out.model.path = m.source.toStdString();
                out.model.name = m.name.toStdString();
            }
        }
    }
    out.settings = currentSettings();
    out.machine = engine::machineDescription();
    out.runs = m_runs;
    out.sweeps = m_sweeps;
    return out;
}

bool MainWindow::saveSession()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save session"), QStringLiteral("session.json"), tr("Playground session (*.json)"));
    if (path.isEmpty())
        return false;
    const QString error = SessionFile::write(path, currentSession());
    if (!error.isEmpty()) {
        QMessageBox::warning(this, tr("Cannot save the session"), error);
        return false;
    }
    setState(tr("session saved: %1").arg(QFileInfo(path).fileName()));
    markPromptsKept();
    return true;
}

void MainWindow::markPromptsKept()
{
    const RunSettings s = currentSettings();
    m_keptPrompts.clear();
    for (const std::string& p : s.prompts)
        m_keptPrompts << QString::fromStdString(p);
    m_keptSystem = QString::fromStdString(s.systemPrompt);
}

bool MainWindow::promptsEdited() const
{
    const RunSettings s = currentSettings();
    QStringList prompts;
    for (const std::string& p : s.prompts)
        prompts << QString::fromStdString(p);
    return prompts != m_keptPrompts || QString::fromStdString(s.systemPrompt) != m_keptSystem;
}

bool MainWindow::mayReplaceEditedPrompts(const QString& what)
{
    if (!promptsEdited())
        return true;
    QMessageBox box(QMessageBox::Warning, tr("Replace the edited prompts?"),
        tr("The prompts were edited since the last run or save. %1 replaces them.").arg(what),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, this);
    box.setObjectName(QStringLiteral("replacePromptsQuestion"));
    box.setInformativeText(tr("Save them in a session file first, discard them, or cancel and keep them."));
    box.setDefaultButton(QMessageBox::Save);
    box.setEscapeButton(QMessageBox::Cancel);
    switch (box.exec()) {
    case QMessageBox::Save:
        return saveSession();
    case QMessageBox::Discard:
        return true;
    default:
        return false;
    }
}

void MainWindow::updateShownRunModel()
{
    const QString loaded = m_controller->model() ? m_controller->modelInfo().source : QString();
    if (!m_shownModel || m_shownModel->source.isEmpty() || m_shownModel->source == loaded) {
        m_shownRunModel->clear();
        m_shownRunModel->hide();
        return;
    }
    // By name; by its file when the loaded model has the same name (two files of one model).
    QString name = m_shownModel->name.isEmpty() ? QFileInfo(m_shownModel->source).fileName() : m_shownModel->name;
    if (!loaded.isEmpty() && name == m_controller->modelInfo().name)
        name = m_shownModel->source;
    m_shownRunModel->setText(loaded.isEmpty()
            ? tr("⚠ The output shown was made with %1, not a loaded model.").arg(name)
            : tr("⚠ The output shown was made with %1, not with the model above.").arg(name));
    m_shownRunModel->setToolTip(m_shownModel->source);
    m_shownRunModel->show();
}

void MainWindow::openSession()
{
    const QString path
        = QFileDialog::getOpenFileName(this, tr("Open session"), QString(), tr("Playground session (*.json)"));
    if (!path.isEmpty())
        openSessionFile(path);
}

QString MainWindow::openSessionFile(const QString& path, bool quiet)
{
    session::Session s;
    const QString error = SessionFile::read(path, s);
    if (!error.isEmpty()) {
        if (!quiet)
            QMessageBox::warning(this, tr("Cannot open the session"), error);
        return error;
    }
    const QString name = QFileInfo(path).fileName();
    if (!quiet && !mayReplaceEditedPrompts(tr("Opening session %1").arg(name))) {
        setState(tr("session not opened: the edited prompts were kept"));
        return tr("not opened: the edited prompts were kept");
    }
    if (m_controller->isBusy()) {
        m_controller->stop();
        m_runId = 0; // the session replaces what the run was showing; drop what it still sends
        m_progress->hide();
        m_cancelSweep->hide();
    }
    applySettings(s.settings);
    markPromptsKept(); // they are in the file
    // The model: loaded when it is here and the same file; otherwise the session is shown read-only.
    const QString model = QString::fromStdString(s.model.path);
    m_modelChosen = false;
    QString note, shortNote; // the tool bar has room for the short one; the tool tip and status say it all
    switch (s.model.check()) {
    case session::ModelRef::Match::Same:
        m_readOnly = false;
        if (!m_controller->model() || m_controller->modelInfo().source != model) {
            if (s.model.isSynthetic())
                m_controller->loadSynthetic(model.mid(10));
            else
                m_controller->loadModel(model);
        }
        setSessionBanner(tr("Session %1").arg(name), false);
        break;
    case session::ModelRef::Match::Missing:
        m_readOnly = !model.isEmpty();
        note = tr("read-only: its model %1 is not on this machine").arg(model);
        shortNote = tr("read-only, its model file is missing");
        break;
    case session::ModelRef::Match::Differs:
        m_readOnly = true;
        note = tr("read-only: %1 is not the model this session was made with (size or contents differ)").arg(model);
        shortNote = tr("read-only, its model file differs");
        break;
    }
    if (!note.isEmpty())
        setSessionBanner(tr("Session %1: %2").arg(name, shortNote), true,
            tr("Session %1 — %2. Choose a model to run it again.").arg(name, note));
    else if (model.isEmpty())
        setSessionBanner(tr("Session %1").arg(name), false);

    // Every run of a session was made with its model, whatever is loaded now.
    const RunModel sessionModel { model, QString::fromStdString(s.model.name), s.model };
    m_runModels.assign(s.runs.size(), sessionModel);
    m_shownModel = sessionModel;
    m_runs = std::move(s.runs);
    m_sweeps = std::move(s.sweeps);
    m_recordedRunId = 0;
    m_shownRun = m_shownSweep = -1;
    m_history->setHistory(m_runs, m_sweeps);
    m_trace.clear();
    m_timeline->clear();
    m_why->clear();
    m_roofline->clear();
    m_lastRun.reset();
    m_lastSweep.reset();
    m_chart->clear();
    if (!m_sweeps.empty())
        showSweep(int(m_sweeps.size()) - 1);
    if (!m_runs.empty()) {
        showRun(int(m_runs.size()) - 1);
    } else {
        // A format 1 session: its outputs as text, no run behind them.
        QStringList prompts, texts, stats;
        for (const std::string& p : s.settings.prompts)
            prompts << QString::fromStdString(p);
        for (const auto& [text, figures] : s.legacyOutputs)
            texts << QString::fromStdString(text), stats << QString::fromStdString(figures);
        if (!texts.isEmpty())
            m_output->showSaved(prompts, texts, stats);
        else
            m_shownModel.reset(); // nothing of the session is shown
        updateShownRunModel();
        m_stats->clear(tr("This session holds outputs only, no run and no trace: run again to see the workers."));
    }
    setState(tr("session opened: %1").arg(name) + (note.isEmpty() ? QString() : QStringLiteral(" (") + note + ')'));
    updateEnabled();
    return {};
}

void MainWindow::setSessionBanner(const QString& text, bool warning, const QString& details)
{
    m_sessionBanner->setText(QStringLiteral("  ") + text);
    m_sessionBanner->setToolTip(details.isEmpty() ? text : details);
    m_sessionBanner->setStyleSheet(warning ? QStringLiteral("color: #9a4b00; font-weight: bold;") : QString());
    m_sessionBannerAction->setVisible(true);
}

void MainWindow::showRun(int index)
{
    if (index < 0 || index >= int(m_runs.size()) || m_controller->isBusy())
        return;
    const session::RunRecord& r = m_runs[size_t(index)];
    const RunSummary summary = SessionFile::summary(r);
    m_runId = 0; // nothing live belongs to what is shown now
    m_shownRun = index;
    m_output->startRun(SessionFile::prompts(r));
    m_output->appendPieces(SessionFile::pieces(r));
    m_output->finishRun(summary);
    m_trace = r.trace;
    m_timeline->clear();
    m_timeline->setLaneCount(r.threads);
    m_timeline->setLaneCpus(r.pinnedCpus);
    m_timeline->appendEvents(m_trace);
    m_timeline->setRunWallNs(int64_t(summary.metrics.wallMs * 1e6)); // the Workers tab's denominator
    m_timeline->fitAll();
    m_stats->setSummary(summary);
    m_lastRun = summary;
    if (size_t(index) < m_runModels.size())
        m_shownModel = m_runModels[size_t(index)];
    updateShownRunModel();
    if (r.report) {
        m_why->setReport(*r.report, r.cancelled);
        m_roofline->setReport(*r.report);
    } else if (r.trace.empty()) {
        m_why->setUntraced();
        m_roofline->clear();
    } else {
        m_why->setNoAnalysis(tr("This run was saved without its analysis (the CLI's generate does not analyse; "
                                "analyze --session-out does). Run it again to see why the threads idled."));
        m_roofline->clear();
    }
    setState(m_shownRunModel->isHidden()
            ? tr("showing run %1 of the history (%2)").arg(index + 1).arg(QString::fromStdString(r.startedAt))
            : tr("showing run %1 of the history (%2), made with %3")
                  .arg(index + 1)
                  .arg(QString::fromStdString(r.startedAt))
                  .arg(m_shownModel->name.isEmpty() ? QFileInfo(m_shownModel->source).fileName() : m_shownModel->name));
}

void MainWindow::showSweep(int index, bool switchToChart)
{
    if (index < 0 || index >= int(m_sweeps.size()))
        return;
    m_lastSweep = m_sweeps[size_t(index)].result;
    m_shownSweep = index;
    m_chart->setSweep(*m_lastSweep);
    if (switchToChart)
        m_tabs->setCurrentWidget(m_chartPage);
    else
        setState(tr("showing sweep %1 of the history in the Speedup tab").arg(index + 1));
}

QWidget* MainWindow::compareRuns(int a, int b)
{
    if (a < 0 || b < 0 || a >= int(m_runs.size()) || b >= int(m_runs.size()))
        return nullptr;
    auto* view
        = new CompareView(m_runs[size_t(a)], m_runs[size_t(b)], tr("run %1").arg(a + 1), tr("run %1").arg(b + 1), this);
    session::HtmlReport::Options options;
    options.run = a;
    options.compareWith = b;
    options.sweep = options.kNone;
    showComparison(view, options, QSize(1400, 900));
    return view;
}

QWidget* MainWindow::compareSweeps(int a, int b)
{
    if (a < 0 || b < 0 || a >= int(m_sweeps.size()) || b >= int(m_sweeps.size()))
        return nullptr;
    auto* view = new CompareView(
        m_sweeps[size_t(a)], m_sweeps[size_t(b)], tr("sweep %1").arg(a + 1), tr("sweep %1").arg(b + 1), this);
    session::HtmlReport::Options options;
    options.run = options.kNone;
    options.sweep = a;
    options.compareSweepWith = b;
    showComparison(view, options, QSize(1200, 800));
    return view;
}

void MainWindow::showComparison(CompareView* view, const session::HtmlReport::Options& report, QSize size)
{
    view->setAttribute(Qt::WA_DeleteOnClose);
    // Its button exports this comparison; File ▸ Export report does too while it is open.
    m_comparison = view;
    m_comparisonReport = report;
    connect(view, &CompareView::exportReportRequested, this, [this, view, report] {
        const QString done = ExportActions::exportReport(view, currentSession(), report, reportFileName(report));
        if (!done.isEmpty())
            setState(done);
    });
    const QRect area = availableScreenArea();
    view->resize(std::min(size.width(), area.width() - 40), std::min(size.height(), area.height() - 60));
    view->show();
}

session::HtmlReport::Options MainWindow::reportOptions() const
{
    if (m_comparison && m_comparison->isVisible())
        return m_comparisonReport;
    session::HtmlReport::Options options;
    options.run = m_shownRun >= 0 ? m_shownRun : -1; // a live run not yet recorded: the latest
    options.sweep = m_shownSweep >= 0 ? m_shownSweep : -1;
    return options;
}

namespace {

// The 1-based run and sweep a report holds (0: none), as HtmlReport resolves "the latest".
std::pair<int, int> reportNumbers(const session::HtmlReport::Options& o, size_t runs, size_t sweeps)
{
    auto number = [&](int i, size_t count) {
        return i == o.kNone || count == 0 ? 0 : i < 0 ? int(count) : std::min(i + 1, int(count));
    };
    return { number(o.run, runs), number(o.sweep, sweeps) };
}

} // namespace

QString MainWindow::reportSubject(const session::HtmlReport::Options& o) const
{
    const auto [run, sweep] = reportNumbers(o, m_runs.size(), m_sweeps.size());
    if (o.compareWith >= 0)
        return tr("the comparison of run %1 and run %2").arg(run).arg(o.compareWith + 1);
    if (o.compareSweepWith >= 0)
        return tr("the comparison of sweep %1 and sweep %2").arg(sweep).arg(o.compareSweepWith + 1);
    if (run && sweep)
        return tr("run %1 and sweep %2").arg(run).arg(sweep);
    if (run)
        return tr("run %1").arg(run);
    return sweep ? tr("sweep %1").arg(sweep) : QString();
}

// "run-1-vs-run-2-report", "run-2-sweep-1-report": what the report holds, as a file name.
QString MainWindow::reportFileName(const session::HtmlReport::Options& o) const
{
    const auto [run, sweep] = reportNumbers(o, m_runs.size(), m_sweeps.size());
    if (o.compareWith >= 0)
        return QStringLiteral("run-%1-vs-run-%2-report").arg(run).arg(o.compareWith + 1);
    if (o.compareSweepWith >= 0)
        return QStringLiteral("sweep-%1-vs-sweep-%2-report").arg(sweep).arg(o.compareSweepWith + 1);
    QStringList parts;
    if (run)
        parts << QStringLiteral("run-%1").arg(run);
    if (sweep)
        parts << QStringLiteral("sweep-%1").arg(sweep);
    parts << QStringLiteral("report");
    return parts.join(QLatin1Char('-'));
}

void MainWindow::exportReport()
{
    const session::HtmlReport::Options options = reportOptions();
    const QString done = ExportActions::exportReport(this, currentSession(), options, reportFileName(options));
    if (!done.isEmpty())
        setState(done);
}

void MainWindow::exportTimelineImage()
{
    const QString done = ExportActions::exportImage(this, m_timeline, QStringLiteral("timeline"));
    if (!done.isEmpty())
        setState(done);
}

void MainWindow::exportChartImage()
{
    const QString done = ExportActions::exportImage(this, m_chart, QStringLiteral("speedup"));
    if (!done.isEmpty())
        setState(done);
}

void MainWindow::autosave() const
{
    if (m_demo || !m_saveOnClose)
        return;
    QSettings st;
    SavedSettings::saveRun(st, currentSettings());
    st.sync();
}

namespace {

// Saved window layouts of another version (the fixed 1600×1000 window, collapsible panes) are not restored.
constexpr int kLayoutVersion = 3; // 3: the lesson panel is the main splitter's second pane
const QString kLayoutVersionKey = QStringLiteral("window/layoutVersion");
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kMainSplitterKey = QStringLiteral("window/mainSplitter");
const QString kRightSplitterKey = QStringLiteral("window/rightSplitter");
const QString kPresentationKey = QStringLiteral("view/presentation");

} // namespace

void MainWindow::loadSettings()
{
    QSettings st;
    m_recentModels = st.value(QStringLiteral("model/recent")).toStringList();
    applySettings(SavedSettings::loadRun(st, currentSettings()));
    m_savedPresentation = st.value(kPresentationKey, false).toBool();
    // The saved layout is the one outside presentation mode (saveSettings): restored first, so that leaving
    // presentation mode gives it back.
    if (!restoreSavedLayout(st))
        placeOnScreen(availableScreenArea());
    setPresentation(m_savedPresentation);
}

bool MainWindow::restoreSavedLayout(const QSettings& st)
{
    if (st.value(kLayoutVersionKey).toInt() != kLayoutVersion || !st.contains(kGeometryKey))
        return false;
    if (!restoreGeometry(st.value(kGeometryKey).toByteArray()))
        return false;
    // A window saved on a bigger screen (or grown past one) opens at the default size instead.
    const QRect available = availableScreenArea();
    if (geometry().width() > available.width() || geometry().height() > available.height())
        return false;
    m_mainSplitter->restoreState(st.value(kMainSplitterKey).toByteArray());
    // A lesson is never open at start, whatever the saved state says.
    m_demoPanel->hide();
    m_controlsScroll->show();
    m_rightSplitter->restoreState(st.value(kRightSplitterKey).toByteArray());
    return true;
}

QRect MainWindow::availableScreenArea() const
{
    QScreen* s = screen();
    if (!s)
        s = QGuiApplication::primaryScreen();
    return s ? s->availableGeometry() : QRect(0, 0, 1600, 1000);
}

QSize MainWindow::defaultSize(const QRect& available) const
{
    // Leave room for the window manager's frame and title.
    const QSize room(std::max(1, available.width() - 16), std::max(1, available.height() - 40));
    QSize size = QSize(1600, 1000).boundedTo(room);
    // Below the minimum the layout would grow the window past the screen anyway.
    return size.expandedTo(minimumSizeHint().boundedTo(room));
}

void MainWindow::placeOnScreen(const QRect& available)
{
    if (isMaximized() || isFullScreen())
        showNormal();
    const QSize size = defaultSize(available);
    resize(size);
    move(available.left() + std::max(0, (available.width() - size.width()) / 2),
        available.top() + std::max(0, (available.height() - 40 - size.height()) / 2));
    setDefaultSplitterSizes(size);
}

void MainWindow::setDefaultSplitterSizes(QSize window)
{
    // In pixels of the window about to be shown: before the first layout QSplitter does not scale
    // proportions reliably. The controls get what they need (a little more on a wide screen), the
    // timeline the largest share of the height.
    const int controls = std::max(m_controlsScroll->minimumWidth(), window.width() / 4);
    const int rest = std::max(1, window.width() - controls);
    // The lesson panel, when open, stands where the controls do (showDemoPanel).
    m_mainSplitter->setSizes(
        m_demoPanel->isHidden() ? QList<int> { controls, 0, rest } : QList<int> { 0, controls, rest });
    const int h = std::max(300, window.height() - 130); // menu, tool and status bars
    // Tall screens have room for the Speedup chart's controls without scrolling. Short ones (1366×768) share
    // more evenly: the timeline's minimum height keeps its legend and two lanes (more lanes scroll), and the Why
    // panel, the Sampling and A/B tables get rows enough to read rather than one or two.
    if (h >= 800)
        m_rightSplitter->setSizes({ h * 22 / 100, h * 33 / 100, h * 45 / 100 });
    else
        m_rightSplitter->setSizes({ h * 30 / 100, h * 30 / 100, h * 40 / 100 });
}

void MainWindow::resetLayout()
{
    QSettings st;
    for (const QString& key : { kLayoutVersionKey, kGeometryKey, kMainSplitterKey, kRightSplitterKey })
        st.remove(key);
    placeOnScreen(availableScreenArea());
}

void MainWindow::resetSettings()
{
    if (QMessageBox::question(this, tr("Reset settings"),
            tr("Put every control, the list of recent models and the window layout back as on a first start?"))
        != QMessageBox::Yes)
        return;
    restoreDefaults();
}

void MainWindow::restoreDefaults()
{
    QSettings().clear();
    m_recentModels.clear();
    applySettings(m_defaultSettings);
    rebuildModelCombo();
    placeOnScreen(availableScreenArea());
    setState(tr("settings reset"));
}

void MainWindow::showShortcuts()
{
    // Made from the actions themselves, so a shortcut given to a menu entry is listed without anyone
    // remembering to; only the keys widgets handle themselves (the timeline's, the chat's) are written here.
    QString rows;
    QSet<const QAction*> listed;
    auto plain = [](QString text) {
        text.replace(QLatin1String("&&"), QLatin1String("\x01")).remove(QLatin1Char('&'));
        return text.replace(QLatin1Char('\x01'), QLatin1Char('&')).remove(QStringLiteral("…")).trimmed();
    };
    auto row = [&](const QList<QKeySequence>& keys, const QString& what) {
        QStringList names;
        for (const QKeySequence& k : keys)
            names << QStringLiteral("<b>%1</b>").arg(k.toString(QKeySequence::NativeText).toHtmlEscaped());
        rows += QStringLiteral("<tr><td>%1</td><td>%2</td></tr>").arg(names.join(tr(" or ")), what);
    };
    auto add = [&](const QAction* a, const QString& menu) {
        if (a->shortcuts().isEmpty() || listed.contains(a))
            return;
        listed.insert(a);
        QString what = (menu.isEmpty() ? QString() : plain(menu) + QStringLiteral(" ▸ ")) + plain(a->text());
        if (const QString scope = a->property("shortcutScope").toString(); !scope.isEmpty())
            what += QStringLiteral(" (") + scope + QLatin1Char(')');
        row(a->shortcuts(), what.toHtmlEscaped());
    };
    for (const QAction* menuAction : menuBar()->actions())
        if (const QMenu* menu = menuAction->menu())
            for (const QAction* a : menu->actions())
                add(a, menu->title());
    for (const QAction* a : findChildren<QAction*>()) // any not in a menu
        add(a, QString());
    for (const QShortcut* s : findChildren<QShortcut*>())
        if (!s->key().isEmpty())
            row({ s->key() }, (s->whatsThis().isEmpty() ? s->objectName() : s->whatsThis()).toHtmlEscaped());
    QMessageBox::information(this, tr("Keyboard shortcuts"),
        tr("<table cellspacing=4>%1"
           "<tr><td colspan=2><br><b>In the timeline</b> (click it first)</td></tr>"
           "<tr><td><b>wheel</b>, <b>+</b> / <b>−</b></td><td>zoom at the cursor / the centre</td></tr>"
           "<tr><td><b>drag</b>, <b>←</b> / <b>→</b></td><td>pan</td></tr>"
           "<tr><td><b>Shift+wheel</b>, <b>↑</b> / <b>↓</b></td><td>scroll the lanes when there are many</td></tr>"
           "<tr><td><b>double-click</b>, <b>Home</b>, <b>0</b></td><td>fit the whole run</td></tr>"
           "<tr><td colspan=2><br><b>In the Chat tab's message field</b></td></tr>"
           "<tr><td><b>Ctrl+Enter</b></td><td>send the message</td></tr>"
           "</table>")
            .arg(rows));
}

void MainWindow::showViewsHelp()
{
    QMessageBox::information(this, tr("What each view shows"),
        tr("<p><b>Output</b> (top): one pane per prompt, the prompt in grey and the generated text after it, with "
           "the prompt's figures underneath. <b>Click a generated token</b> to outline, in the timeline, the chunks "
           "of work that computed it.</p>"
           "<p><b>Worker timeline</b> (middle): one lane per thread of the task arena (worker 0 is the thread that "
           "runs the request). Each chunk of a parallel loop is drawn where it ran. Zoomed out, a lane has one bar "
           "per pixel column: its <b>height is the share of that column's time the worker was busy</b>, its "
           "<b>colour the op that took most of it</b> (the legend names them). A gap is time the worker was idle. "
           "Hover a chunk for its op, layer, rows, token and duration. A <b>hatched chunk with a dark top edge</b> ran "
           "far slower than its op usually does: the operating system probably preempted its thread, or another "
           "process shared its core.</p>"
           "<p><b>Speedup</b>: a sweep runs the same work at several thread counts; the chart shows speedup and "
           "efficiency against the thread count with the Amdahl fit. A sweep whose work grows with the threads "
           "shows Gustafson's scaled speedup p·T(1)/T(p) and scaled efficiency instead, without a fit.</p>"
           "<p><b>Workers</b>: after a run, each worker's busy and idle time, its share and its chunks.</p>"));
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About LLM Thread Playground"),
        tr("<p><b>LLM Thread Playground</b></p>"
           "<p>Watch a real language model think in parallel: a small CPU inference engine for llama-family "
           "GGUF models on oneTBB, with every worker thread's timeline drawn live and thread-count sweeps "
           "charted as speedup.</p>"
           "<p>Qt %1 · %2 cores on this machine.</p>")
            .arg(QString::fromLatin1(qVersion()))
            .arg(engine::Scheduler::hardwareThreads()));
}

void MainWindow::saveSettings() const
{
    QSettings st;
    st.setValue(QStringLiteral("model/recent"), m_recentModels);
    st.setValue(QStringLiteral("model/last"), m_controller->model() ? m_controller->modelInfo().source : QString());
    SavedSettings::saveRun(st, currentSettings());
    st.setValue(kLayoutVersionKey, kLayoutVersion);
    st.setValue(kGeometryKey, saveGeometry());
    // Outside presentation mode's layout: what the user had before it, which it gives back when it ends.
    const bool presenting = m_presentation && m_layoutBeforePresentation;
    st.setValue(kMainSplitterKey, presenting ? m_layoutBeforePresentation->mainSplitter : m_mainSplitter->saveState());
    st.setValue(
        kRightSplitterKey, presenting ? m_layoutBeforePresentation->rightSplitter : m_rightSplitter->saveState());
    st.setValue(kPresentationKey, m_savedPresentation);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_lessons->isActive())
        m_lessons->leave(); // what is saved is the user's, not a lesson's
    if (m_saveOnClose)
        saveSettings();
    m_controller->stop(); // the worker finishes its current token; the controller's destructor joins it
    event->accept();
}

} // namespace ui
