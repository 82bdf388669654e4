// Answers a window test's modal dialogs as a user would, so a test can drive actions that ask for a file.
#pragma once

#include <QApplication>
#include <QFileDialog>
#include <QLineEdit>
#include <QMessageBox>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>

namespace testsupport {

// Answers the next modal dialogs: a message box is recorded and closed; a file dialog gets `file`.
class DialogAnswerer : public QObject {
public:
    explicit DialogAnswerer(QString file = {})
        : m_file(std::move(file))
    {
        m_timer.setInterval(20);
        QObject::connect(&m_timer, &QTimer::timeout, this, [this] {
            QWidget* modal = QApplication::activeModalWidget();
            if (auto* box = qobject_cast<QMessageBox*>(modal)) {
                messages << box->text();
                box->done(QMessageBox::Ok);
            } else if (auto* dialog = qobject_cast<QFileDialog*>(modal)) {
                // Typed, as a user would: selectFile() is ignored until the dialog has listed the folder.
                if (auto* name = dialog->findChild<QLineEdit*>(QStringLiteral("fileNameEdit")))
                    name->setText(m_file);
                QMetaObject::invokeMethod(dialog, "accept"); // a protected slot
            }
        });
        m_timer.start();
    }
    QStringList messages;

private:
    QString m_file;
    QTimer m_timer;
};

} // namespace testsupport
