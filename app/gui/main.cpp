// llm-playground: the desktop window. All logic lives in the ui library.
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QRegularExpression>

#include <cstring>

namespace {

struct Options {
    QCommandLineOption model { QStringLiteral("model"), QStringLiteral("GGUF model to open."), QStringLiteral("path") };
    QCommandLineOption demo { QStringLiteral("demo"),
        QStringLiteral("Run the default prompt on every core, then a short sweep; the window stays open.") };
    QCommandLineOption screenshot { QStringLiteral("screenshot"),
        QStringLiteral("With --demo: save a PNG of the whole window when the demo is done, then exit."),
        QStringLiteral("file") };
    QCommandLineOption windowSize { QStringLiteral("window-size"),
        QStringLiteral("Open the window at this size, e.g. 1280x720 (screenshots)."), QStringLiteral("WxH") };
};

void setUp(QCommandLineParser& parser, const Options& o)
{
    QCoreApplication::setApplicationName(QStringLiteral("llm-playground"));
    QCoreApplication::setOrganizationName(QStringLiteral("LLM Thread Playground"));
    parser.setApplicationDescription(QStringLiteral("Watch a real language model think in parallel."));
    parser.addHelpOption();
    parser.addOptions({ o.model, o.demo, o.screenshot, o.windowSize });
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

    ui::MainWindow window;
    if (size.isValid())
        window.resize(size);
    window.show();
    if (parser.isSet(o.demo))
        window.startDemo(parser.value(o.screenshot));
    else
        window.loadInitialModel(parser.value(o.model));
    return QApplication::exec();
}
