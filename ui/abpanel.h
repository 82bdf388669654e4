// Prompt A/B in the window: the prompt list's prompts as variants, each run under the same settings and several
// seeds, in a table per sample and per variant, exported as CSV or JSON.
#pragma once

#include "engine/measure/promptab.h"

#include <QWidget>

#include <optional>

class QLabel;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTableWidget;

namespace ui {

class AbPanel : public QWidget {
    Q_OBJECT

public:
    explicit AbPanel(QWidget* parent = nullptr);

    int seeds() const;
    void setSeeds(int seeds);
    void setVariantCount(int count); // the prompt list's size: what Run compares
    void setBusy(bool busy);
    void started(int variants, int seeds);
    void setProgress(int done, int total);
    void setResult(const engine::PromptAbResult& result);
    void setFailed(const QString& message);
    const std::optional<engine::PromptAbResult>& result() const { return m_result; }

    QTableWidget* summaryTable() const { return m_summary; }
    QTableWidget* samplesTable() const { return m_samples; }

public Q_SLOTS:
    void exportCsv();
    void exportJson();

Q_SIGNALS:
    void runRequested(int seeds);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void updateEnabled();
    // The summary as tall as its rows (a few variants), the samples the rest: on a short screen both showed a row.
    void fitSummary();

    QSpinBox* m_seeds;
    QPushButton* m_run;
    QPushButton* m_csv;
    QPushButton* m_json;
    QLabel* m_status;
    QTableWidget* m_summary;
    QTableWidget* m_samples;
    QSplitter* m_split = nullptr;
    std::optional<engine::PromptAbResult> m_result;
    int m_variants = 0;
    bool m_busy = false;
};

} // namespace ui
