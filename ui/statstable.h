// Per-worker table (busy, idle, chunks, mean chunk) and the run's totals.
#pragma once

#include "ui/runcontroller.h"

#include <QWidget>

class QLabel;
class QTableWidget;

namespace ui {

class StatsTable : public QWidget {
    Q_OBJECT

public:
    explicit StatsTable(QWidget* parent = nullptr);
    void setSummary(const RunSummary& summary);
    void clear(const QString& message = {}); // no rows; the message says why (default: run something)
    QTableWidget* table() const { return m_table; }
    QString totalsText() const;

private:
    QTableWidget* m_table;
    QLabel* m_totals;
};

} // namespace ui
