// The window's prompt experiments: chat offered only for a model with a chat template (and saying why not), two
// turns where the second reuses the KV cache, the A/B table from the prompt list, and the prompt library kept in a
// file across sessions.
#include "engine/model/synthetic.h"
#include "testsupport.h"
#include "ui/abpanel.h"
#include "ui/chatpanel.h"
#include "ui/mainwindow.h"
#include "ui/promptlibrary.h"
#include "ui/promptlibrarydialog.h"
#include "ui/settingspanel.h"

#include <QApplication>
#include <QFile>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace ui;

namespace {

bool loadModel(MainWindow& w, const QString& path)
{
    QSignalSpy loaded(w.controller(), &RunController::modelLoaded);
    w.controller()->loadModel(path);
    return loaded.wait(60000);
}

QPushButton* button(QWidget& parent, const QString& text)
{
    for (QPushButton* b : parent.findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

} // namespace

class TestPromptLab : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("playground-test"));
        QCoreApplication::setApplicationName(QStringLiteral("test_promptlab"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.path());
        testsupport::writeFakeRooflineCache(m_dir.filePath(QStringLiteral("cache")));
        qputenv("XDG_CACHE_HOME", m_dir.filePath(QStringLiteral("cache")).toLocal8Bit());
        engine::SyntheticShape shape = engine::syntheticShape("tiny");
        shape.chatTemplate = "chatml";
        m_chatModel = m_dir.filePath(QStringLiteral("chat.gguf"));
        engine::writeSyntheticModel(shape, m_chatModel.toStdString());
        m_plainModel = m_dir.filePath(QStringLiteral("plain.gguf"));
        engine::writeSyntheticModel(engine::syntheticShape("tiny"), m_plainModel.toStdString());
    }

    void chatIsOfferedOnlyWithATemplate()
    {
        MainWindow w;
        QVERIFY(loadModel(w, m_plainModel));
        ChatPanel* chat = w.chatPanel();
        QVERIFY(!chat->available());
        QVERIFY(chat->unavailableReason().contains(QLatin1String("no chat template")));
        QVERIFY(!button(*chat, QStringLiteral("Send"))->isEnabled());
        QVERIFY(w.outputTabs()->tabToolTip(1).contains(QLatin1String("not available")));
        QVERIFY(loadModel(w, m_chatModel));
        QVERIFY(chat->available());
    }

    void secondTurnReusesTheCache()
    {
        MainWindow w;
        QVERIFY(loadModel(w, m_chatModel));
        RunSettings s = w.currentSettings();
        s.maxTokens = 6;
        s.sampling.temperature = 0;
        s.scheduler.threads = 2;
        w.applySettings(s);
        ChatPanel* chat = w.chatPanel();
        QSignalSpy finished(w.controller(), &RunController::runFinished);

        chat->setInput(QStringLiteral("Where is the ark"));
        chat->send();
        QVERIFY(finished.wait(30000));
        const RunSummary first = finished.takeFirst().at(1).value<RunSummary>();
        QVERIFY(first.chat);
        QCOMPARE(first.chat->reusedTokens, 0);
        QCOMPARE(first.chat->messages.size(), size_t(2));
        QVERIFY(chat->lastStats().contains(QStringLiteral("prefilled %1 tokens").arg(first.chat->prefilledTokens)));

        chat->setInput(QStringLiteral("and then"));
        chat->send();
        QVERIFY(finished.wait(30000));
        const RunSummary second = finished.takeFirst().at(1).value<RunSummary>();
        QVERIFY(second.chat);
        QVERIFY(second.chat->reusedTokens >= first.chat->historyTokens);
        QCOMPARE(second.chat->prefilledTokens, second.chat->historyTokens - second.chat->reusedTokens);
        QCOMPARE(second.sequences.front().stats.promptTokens, second.chat->prefilledTokens);
        QVERIFY(chat->transcript().contains(QLatin1String("user: and then")));
        QCOMPARE(chat->transcript().count(QLatin1String("assistant: ")), 2);
        QVERIFY(chat->lastStats().contains(QStringLiteral("reused %1").arg(second.chat->reusedTokens)));

        // Regenerate: the same history again, so one token is fed.
        button(*chat, QStringLiteral("Regenerate last"))->click();
        QVERIFY(finished.wait(30000));
        const RunSummary again = finished.takeFirst().at(1).value<RunSummary>();
        QCOMPARE(again.chat->prefilledTokens, 1);
        QCOMPARE(again.sequences.front().tokenIds, second.sequences.front().tokenIds); // greedy
        QCOMPARE(chat->transcript().count(QLatin1String("assistant: ")), 2);
    }

    void abTableFromThePromptList()
    {
        MainWindow w;
        QVERIFY(loadModel(w, m_plainModel));
        RunSettings s = w.currentSettings();
        s.prompts = { "In the beginning", "And God said" };
        s.maxTokens = 5;
        s.scheduler.threads = 2;
        w.applySettings(s);
        AbPanel* ab = w.abPanel();
        ab->setSeeds(2);
        QSignalSpy done(w.controller(), &RunController::abFinished);
        button(*ab, QStringLiteral("Run A/B"))->click();
        QVERIFY(done.wait(30000));
        QCOMPARE(ab->summaryTable()->rowCount(), 2);
        QCOMPARE(ab->samplesTable()->rowCount(), 4);
        QVERIFY(ab->result());
        // The table shows the result's figures.
        const engine::PromptAbSample& first = ab->result()->samples.front();
        QCOMPARE(ab->samplesTable()->item(0, 3)->data(Qt::UserRole).toDouble(), first.meanProbability);
        QCOMPARE(ab->samplesTable()->item(0, 1)->data(Qt::UserRole).toDouble(), double(s.sampling.seed));
        QCOMPARE(ab->samplesTable()->item(1, 1)->data(Qt::UserRole).toDouble(), double(s.sampling.seed + 1));
    }

    void libraryKeepsPromptsAcrossSessions()
    {
        const QString path = m_dir.filePath(QStringLiteral("data/prompt-library.json"));
        {
            PromptLibrary library(path);
            QCOMPARE(library.load(), QString()); // no file yet: empty
            engine::RunRequest r;
            r.prompts = { "Let there be light" };
            r.systemPrompt = "Answer in verse.";
            r.sampling.temperature = 0.3f;
            r.maxTokens = 17;
            library.put({ QStringLiteral("genesis"), r });
            r.prompts = { "other" };
            library.put({ QStringLiteral("another"), r });
            QCOMPARE(library.save(), QString());
        }
        PromptLibrary reopened(path);
        QCOMPARE(reopened.load(), QString());
        QCOMPARE(reopened.entries().size(), 2);
        QCOMPARE(reopened.entries().front().name, QStringLiteral("another")); // name order
        const auto genesis = reopened.find(QStringLiteral("genesis"));
        QVERIFY(genesis);
        QCOMPARE(genesis->settings.prompts, std::vector<std::string> { "Let there be light" });
        QCOMPARE(genesis->settings.systemPrompt, std::string("Answer in verse."));
        QCOMPARE(genesis->settings.sampling.temperature, 0.3f);
        QCOMPARE(genesis->settings.maxTokens, 17);
        QVERIFY(reopened.remove(QStringLiteral("genesis")));
        QCOMPARE(reopened.save(), QString());
        PromptLibrary third(path);
        QCOMPARE(third.load(), QString());
        QCOMPARE(third.entries().size(), 1);

        // A damaged file is reported, never a crash, and leaves the library empty.
        QFile bad(m_dir.filePath(QStringLiteral("bad.json")));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{ \"prompts\": [ { \"settings\": 3 } ");
        bad.close();
        PromptLibrary broken(bad.fileName());
        QVERIFY(broken.load().contains(QLatin1String("not valid")));
        QVERIFY(broken.entries().isEmpty());
    }

    void libraryDialogSavesAndLoadsTheWindowsPrompts()
    {
        const QString path = m_dir.filePath(QStringLiteral("dialog/prompt-library.json"));
        PromptLibrary library(path);
        engine::RunRequest current;
        current.prompts = { "first", "second" };
        current.sampling.seed = 99;
        PromptLibraryDialog dialog(library, [&] { return current; });
        dialog.setName(QStringLiteral("pair"));
        dialog.saveCurrent();
        QCOMPARE(dialog.list()->count(), 1);
        QVERIFY(QFile::exists(path));
        QSignalSpy loaded(&dialog, &PromptLibraryDialog::loadRequested);
        dialog.loadSelected();
        QCOMPARE(loaded.count(), 1);
        const SavedPrompt got = loaded.takeFirst().at(0).value<SavedPrompt>();
        QCOMPARE(got.settings.prompts, current.prompts);
        QCOMPARE(got.settings.sampling.seed, uint64_t(99));
        dialog.deleteSelected();
        QCOMPARE(dialog.list()->count(), 0);
    }

private:
    QTemporaryDir m_dir;
    QString m_chatModel;
    QString m_plainModel;
};

QTEST_MAIN(TestPromptLab)
#include "test_promptlab.moc"
