#include "ui/sessionfile.h"

namespace ui {

QString SessionFile::write(const QString& path, const session::Session& s)
{
    try {
        session::SessionFile::write(path.toStdString(), s);
    } catch (const std::exception& e) {
        return tr("Could not save the session: %1").arg(QString::fromUtf8(e.what()));
    }
    return {};
}

QString SessionFile::read(const QString& path, session::Session& s)
{
    try {
        s = session::SessionFile::read(path.toStdString());
    } catch (const std::exception& e) {
        return tr("%1 cannot be opened: %2. Nothing in the window was changed.").arg(path, QString::fromUtf8(e.what()));
    }
    return {};
}

session::RunRecord SessionFile::record(const RunSettings& settings, const RunSummary& summary,
    const QVector<TokenPiece>& pieces, std::vector<engine::TraceEvent> trace)
{
    session::RunRecord r;
    r.startedAt = session::SessionFile::nowUtc();
    r.settings = settings;
    r.sequences = summary.sequences;
    r.metrics = summary.metrics;
    r.cancelled = summary.cancelled;
    r.threads = summary.threads;
    r.strategy = summary.strategy;
    r.pinnedCpus = summary.pinnedCpus;
    r.backgroundLoad = summary.backgroundLoad;
    r.tokens.reserve(size_t(pieces.size()));
    for (const TokenPiece& p : pieces)
        r.tokens.push_back({ p.sequence, p.id, p.position, p.text.toStdString() });
    r.trace = std::move(trace);
    return r;
}

RunSummary SessionFile::summary(const session::RunRecord& r)
{
    RunSummary s;
    s.metrics = r.metrics;
    s.sequences = r.sequences;
    s.cancelled = r.cancelled;
    s.threads = r.threads;
    s.strategy = r.strategy;
    s.pinnedCpus = r.pinnedCpus;
    s.backgroundLoad = r.backgroundLoad;
    return s;
}

QVector<TokenPiece> SessionFile::pieces(const session::RunRecord& r)
{
    QVector<TokenPiece> out;
    out.reserve(qsizetype(r.tokens.size()));
    for (const session::TokenRecord& t : r.tokens)
        out.push_back({ t.sequence, t.id, t.position, QString::fromStdString(t.text) });
    return out;
}

QStringList SessionFile::prompts(const session::RunRecord& r)
{
    QStringList out;
    for (const std::string& p : r.settings.prompts)
        out << QString::fromStdString(p);
    return out;
}

} // namespace ui
