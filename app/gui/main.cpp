// llm-playground: the desktop window. All logic lives in the ui library.
#include "engine/lessons/lesson.h"
#include "ui/exportactions.h"
#include "ui/lessondriver.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QRegularExpression>
#include <QTimer>

#include <cstring>

namespace {

struct Options {
    QCommandLineOption model { QStringLiteral("model"), QStringLiteral("GGUF model to open."), QStringLiteral("path") };
    QCommandLineOption demo { QStringLiteral("demo"),
        QStringLiteral("Run the default prompt on every core, then a short sweep; the window stays open.") };
    QCommandLineOption screenshot { QStringLiteral("screenshot"),
        QStringLiteral("With --demo, --demo-preset or --open-session: save a PNG of the whole window when the demo is "
                       "done or the session is shown, then exit."),
        QStringLiteral("file") };
    QCommandLineOption demoPreset { QStringLiteral("demo-preset"),
        QStringLiteral("Start on this teaching demonstration (see the Demos menu; `llm-playground-cli demo --list`) "
                       "and run it."),
        QStringLiteral("name") };
    QCommandLineOption quick { QStringLiteral("quick"),
        QStringLiteral("With --demo-preset: fewer tokens and repetitions, the same steps (tests, a slow machine).") };
    QCommandLineOption present { QStringLiteral("present"),
        QStringLiteral("Presentation mode: large text and thick chart lines for a projector (View menu).") };
    QCommandLineOption openSession { QStringLiteral("open-session"),
        QStringLiteral("Open a saved session (runs, sweeps, timeline, analysis)."), QStringLiteral("file") };
    QCommandLineOption prompt { QStringLiteral("prompt"),
        QStringLiteral("Start with this prompt in the prompt list, as if typed (it is autosaved)."),
        QStringLiteral("text") };
    QCommandLineOption windowSize { QStringLiteral("window-size"),
        QStringLiteral("Open the window at this size, e.g. 1280x720 (screenshots)."), QStringLiteral("WxH") };
};

void setUp(QCommandLineParser& parser, const Options& o)
{
    QCoreApplication::setApplicationName(QStringLiteral("llm-playground"));
    QCoreApplication::setOrganizationName(QStringLiteral("LLM Thread Playground"));
    parser.setApplicationDescription(QStringLiteral("Watch a real language model think in parallel."));
    parser.addHelpOption();
    parser.addOptions(
        { o.model, o.demo, o.screenshot, o.demoPreset, o.quick, o.present, o.windowSize, o.openSession, o.prompt });
}

// --help must work without a display (over ssh, in a package check): QApplication would abort
// before the parser could print anything, so help is answered by a QCoreApplication.
bool asksForHelp(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        for (const char* h : { "-h", "--help", "-?", "--help-all", "-help" })
            if (std::strcmp(argv[i], h) == 0)
                return true;
    return false;
}

QString lessonNames()
{
    QStringList names;
    for (const engine::lessons::Lesson* l : engine::lessons::allLessons())
        names << QString::fromStdString(l->name());
    return names.join(QStringLiteral(", "));
}

} // namespace

int main(int argc, char** argv)
{
    const Options o;
    if (asksForHelp(argc, argv)) {
        QCoreApplication app(argc, argv);
        QCommandLineParser parser;
        setUp(parser, o);
        parser.process(app); // prints the help and exits
        return 0;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationDisplayName(QStringLiteral("LLM Thread Playground"));
    QCommandLineParser parser;
    setUp(parser, o);
    parser.process(app);

    QSize size;
    if (parser.isSet(o.windowSize)) {
        const auto m = QRegularExpression(QStringLiteral("^(\\d+)x(\\d+)$")).match(parser.value(o.windowSize));
        if (!m.hasMatch() || m.captured(1).toInt() < 1 || m.captured(2).toInt() < 1) {
            qCritical("--window-size: expected WIDTHxHEIGHT, e.g. 1280x720");
            return 2;
        }
        size = QSize(m.captured(1).toInt(), m.captured(2).toInt());
    }
    const QString preset = parser.value(o.demoPreset);
    if (parser.isSet(o.demoPreset) && !engine::lessons::findLesson(preset.toStdString())) {
        qCritical("--demo-preset: no demonstration is called \"%s\"; the demonstrations are: %s", qPrintable(preset),
            qPrintable(lessonNames()));
        return 2;
    }
    if (parser.isSet(o.demoPreset) && parser.isSet(o.demo)) {
        qCritical("--demo and --demo-preset: choose one");
        return 2;
    }

    ui::MainWindow window;
    if (size.isValid())
        window.resize(size);
    if (parser.isSet(o.present))
        window.setPresentation(true); // for this start; the View menu's choice is what is saved
    window.show();
    if (parser.isSet(o.demo)) {
        window.startDemo(parser.value(o.screenshot));
        return QApplication::exec();
    }
    window.loadInitialModel(parser.value(o.model));
    if (parser.isSet(o.prompt)) {
        ui::RunSettings settings = window.currentSettings();
        settings.prompts = { parser.value(o.prompt).toStdString() };
        window.applySettings(settings);
    }
    if (parser.isSet(o.demoPreset)) {
        window.lessons()->setQuick(parser.isSet(o.quick));
        window.startLesson(preset, parser.value(o.screenshot));
    } else if (parser.isSet(o.openSession)) {
        const bool screenshot = parser.isSet(o.screenshot);
        const QString error = window.openSessionFile(parser.value(o.openSession), screenshot);
        if (!error.isEmpty() && screenshot) {
            qCritical("%s", qPrintable(error));
            return 1;
        }
        if (screenshot) {
            // Once the session's model has loaded (or failed to) and the window has painted what it holds.
            const QString path = parser.value(o.screenshot);
            auto* poll = new QTimer(&window);
            QObject::connect(poll, &QTimer::timeout, &window, [&window, path, poll] {
                if (window.controller()->isLoading())
                    return;
                poll->stop();
                QTimer::singleShot(500, &window,
                    [&window, path] { QApplication::exit(ui::ExportActions::saveWindowImage(&window, path) ? 0 : 1); });
            });
            poll->start(200);
        }
    }
    return QApplication::exec();
}
