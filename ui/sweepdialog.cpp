#include "ui/sweepdialog.h"

#include "engine/parallel/scheduler.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace ui {

SweepDialog::SweepDialog(QWidget* parent)
    : QDialog(parent)
    , m_threads(new QLineEdit(this))
    , m_repeat(new QSpinBox(this))
    , m_scaled(
          new QCheckBox(tr("Grow the work with the threads (Gustafson: p copies of the prompts at p threads)"), this))
    , m_scheduling(new QLabel(this))
    , m_problem(new QLabel(this))
{
    setWindowTitle(tr("Sweep over thread counts"));
    auto* form = new QFormLayout;
    m_threads->setToolTip(tr("Thread counts to measure, e.g. 1,2,3,4 or 1-8, each from 1 to %1 (the scheduler's "
                             "limit). 1 is the baseline for speedup.")
                              .arg(engine::SchedulerOptions::kMaxThreads));
    form->addRow(tr("Threads:"), m_threads);
    m_problem->setObjectName(QStringLiteral("sweepProblem"));
    m_problem->setWordWrap(true);
    m_problem->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_problem->hide();
    form->addRow(QString(), m_problem);
    m_repeat->setRange(1, 50);
    m_repeat->setValue(3);
    m_repeat->setToolTip(tr("Measured runs per point, after one warm-up run; the chart shows medians and min–max"));
    form->addRow(tr("Repetitions:"), m_repeat);
    auto* strategies = new QVBoxLayout;
    const std::pair<engine::Strategy, QString> tips[] = {
        { engine::Strategy::IntraOp, tr("one prompt at a time; every matmul split by rows across the threads") },
        { engine::Strategy::Request, tr("each prompt is one task on one thread; needs several prompts") },
        { engine::Strategy::Hybrid, tr("prompts as tasks, with their matmuls split again inside (nested)") },
        { engine::Strategy::Pipeline, tr("layer groups as pipeline stages; prompts flow through them") },
    };
    for (const auto& [s, tip] : tips) {
        auto* box = new QCheckBox(QString::fromLatin1(engine::strategyName(s)), this);
        box->setToolTip(tip);
        strategies->addWidget(box);
        m_strategies.push_back({ s, box });
        connect(box, &QCheckBox::toggled, this, &SweepDialog::validate);
    }
    m_strategies.front().second->setChecked(true);
    form->addRow(tr("Strategies:"), strategies);
    m_scaled->setToolTip(tr("Scaled speedup for request-parallel work: the problem grows with the machine. The chart "
                            "and the exports then show Gustafson's scaled speedup p·T(1)/T(p) and scaled "
                            "efficiency; the Amdahl fit and Karp–Flatt assume fixed work and are left out."));
    form->addRow(QString(), m_scaled);
    m_scheduling->setWordWrap(true);
    m_scheduling->setToolTip(tr("Set in the Parallelism panel; every point of the sweep uses them"));
    form->addRow(tr("Scheduling:"), m_scheduling);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Start sweep"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    connect(m_threads, &QLineEdit::textChanged, this, &SweepDialog::validate);

    const int cores = engine::Scheduler::hardwareThreads();
    std::vector<int> defaults;
    for (int p = 1; p <= std::max(2, cores); ++p)
        defaults.push_back(p);
    setThreads(defaults);
    setScheduling(engine::SchedulerOptions {});
}

void SweepDialog::setScheduling(const engine::SchedulerOptions& options)
{
    const int cores = engine::Scheduler::hardwareThreads();
    m_scheduling->setText(
        tr("partitioner %1, grain %2, %3 (from the Parallelism panel).\nThis machine has %4 "
           "logical cores: points above %4 threads are measured but not fitted (scaled work has no fit).")
            .arg(QString::fromLatin1(engine::partitionerName(options.partitioner)))
            .arg(qulonglong(options.grain))
            .arg(options.pinThreads ? tr("threads pinned where p ≤ CPUs") : tr("threads not pinned"))
            .arg(cores));
}

QString SweepDialog::schedulingText() const { return m_scheduling->text(); }

namespace {

// Parses a thread list; on a problem returns an empty list and says why in `problem`.
std::vector<int> parseThreads(const QString& text, QString* problem)
{
    const int limit = engine::SchedulerOptions::kMaxThreads;
    auto fail = [&](const QString& why) {
        if (problem)
            *problem = why;
        return std::vector<int> {};
    };
    std::vector<int> out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QString item = part.trimmed();
        if (item.isEmpty())
            continue;
        bool ok1 = false, ok2 = false;
        if (item.contains(QLatin1Char('-'))) {
            const auto ends = item.split(QLatin1Char('-'));
            const int a = ends.size() == 2 ? ends[0].trimmed().toInt(&ok1) : 0;
            const int b = ends.size() == 2 ? ends[1].trimmed().toInt(&ok2) : 0;
            if (!ok1 || !ok2)
                return fail(SweepDialog::tr("“%1” is not a range: write it as from-to, e.g. 1-8.").arg(item));
            if (a > b)
                return fail(SweepDialog::tr("“%1” runs backwards: write the smaller count first, e.g. %2-%3.")
                                .arg(item)
                                .arg(b)
                                .arg(a));
            if (a < 1 || b > limit)
                return fail(
                    SweepDialog::tr("“%1” goes outside 1 to %2 threads (the scheduler's limit).").arg(item).arg(limit));
            for (int p = a; p <= b; ++p)
                out.push_back(p);
        } else {
            const int p = item.toInt(&ok1);
            if (!ok1)
                return fail(SweepDialog::tr("“%1” is not a thread count: use whole numbers separated by commas, "
                                            "e.g. 1,2,4.")
                                .arg(item));
            if (p < 1 || p > limit)
                return fail(
                    SweepDialog::tr("%1 threads is outside 1 to %2 (the scheduler's limit).").arg(p).arg(limit));
            out.push_back(p);
        }
    }
    if (out.empty())
        return fail(SweepDialog::tr("Enter at least one thread count, e.g. 1,2,4 or 1-8."));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace

std::vector<int> SweepDialog::parseThreadList(const QString& text) { return parseThreads(text, nullptr); }

QString SweepDialog::threadListProblem(const QString& text)
{
    QString problem;
    parseThreads(text, &problem);
    return problem;
}

std::vector<int> SweepDialog::threads() const { return parseThreadList(m_threads->text()); }

void SweepDialog::setThreads(const std::vector<int>& threads)
{
    QStringList parts;
    for (int p : threads)
        parts << QString::number(p);
    m_threads->setText(parts.join(QLatin1Char(',')));
}

std::vector<engine::Strategy> SweepDialog::strategies() const
{
    std::vector<engine::Strategy> out;
    for (const auto& [s, box] : m_strategies)
        if (box->isChecked())
            out.push_back(s);
    return out;
}

void SweepDialog::setStrategies(const std::vector<engine::Strategy>& strategies)
{
    for (const auto& [s, box] : m_strategies)
        box->setChecked(std::find(strategies.begin(), strategies.end(), s) != strategies.end());
}

int SweepDialog::repeat() const { return m_repeat->value(); }
void SweepDialog::setRepeat(int repeat) { m_repeat->setValue(repeat); }
bool SweepDialog::scaledWork() const { return m_scaled->isChecked(); }

QString SweepDialog::problem() const { return m_problem->text(); }

void SweepDialog::validate()
{
    QString problem = threadListProblem(m_threads->text());
    m_threads->setStyleSheet(problem.isEmpty() ? QString() : QStringLiteral("background: #fdd;"));
    if (problem.isEmpty() && strategies().empty())
        problem = tr("Choose at least one strategy to measure.");
    m_problem->setText(problem);
    m_problem->setVisible(!problem.isEmpty());
    if (m_ok) {
        m_ok->setEnabled(problem.isEmpty());
        m_ok->setToolTip(problem);
    }
}

} // namespace ui
