// Every run and sweep of this window session (or of an opened session file), newest first, with the settings and
// figures that tell them apart. Selecting one shows it again; two of the same kind can be compared.
#pragma once

#include "session/session.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace ui {

class HistoryPanel : public QWidget {
    Q_OBJECT

public:
    explicit HistoryPanel(QWidget* parent = nullptr);

    // Rebuilds the list; the entries keep their indices into `runs` and `sweeps`.
    void setHistory(const std::vector<session::RunRecord>& runs, const std::vector<session::SweepRecord>& sweeps);
    int rowCount() const;
    // Selects rows by kind and index (tests, and the window after a run): emits as a click would.
    void selectRun(int index);
    void selectRuns(int a, int b);
    void selectSweeps(int a, int b);
    QPushButton* compareButton() const { return m_compare; }

Q_SIGNALS:
    void runChosen(int index);
    void sweepChosen(int index);
    void compareRuns(int a, int b);
    void compareSweeps(int a, int b);

private:
    void selectionChanged();
    void compare();
    // The selected entries: kind (0 run, 1 sweep) and index.
    std::vector<std::pair<int, int>> selected() const;
    void select(const std::vector<std::pair<int, int>>& entries);

    QTreeWidget* m_list;
    QPushButton* m_compare;
    QLabel* m_hint;
};

} // namespace ui
