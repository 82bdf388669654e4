// llm-playground: the desktop window. All logic lives in the ui library.
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("llm-playground"));
    QApplication::setOrganizationName(QStringLiteral("LLM Thread Playground"));
    QApplication::setApplicationDisplayName(QStringLiteral("LLM Thread Playground"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Watch a real language model think in parallel."));
    parser.addHelpOption();
    const QCommandLineOption model(
        QStringLiteral("model"), QStringLiteral("GGUF model to open."), QStringLiteral("path"));
    const QCommandLineOption demo(
        QStringLiteral("demo"), QStringLiteral("Run the default prompt on every core, then a short sweep, and exit."));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
        QStringLiteral("With --demo: save a PNG of the whole window before exiting."), QStringLiteral("file"));
    parser.addOptions({ model, demo, screenshot });
    parser.process(app);

    ui::MainWindow window;
    window.show();
    if (parser.isSet(demo))
        window.startDemo(parser.value(screenshot));
    else
        window.loadInitialModel(parser.value(model));
    return QApplication::exec();
}
