#include "session/tokenrecorder.h"

#include "engine/parallel/scheduler.h"
#include "session/sessionfile.h"

namespace session {

void TokenRecorder::onToken(int sequence, int32_t id, std::string_view text)
{
    {
        std::lock_guard lock(m_mutex);
        int position = -1;
        // As the window numbers them (ui/runcontroller.cpp): the first token comes from the prompt's last
        // position, each later one from the next.
        if (id >= 0 && sequence >= 0 && size_t(sequence) < m_promptTokens.size())
            position = m_promptTokens[size_t(sequence)] - 1 + m_generated[size_t(sequence)]++;
        m_tokens.push_back({ sequence, id, position, std::string(text) });
    }
    if (m_next)
        m_next->onToken(sequence, id, text);
}

void TokenRecorder::onPromptTokens(int sequence, int count)
{
    {
        std::lock_guard lock(m_mutex);
        if (sequence >= 0 && size_t(sequence) >= m_promptTokens.size()) {
            m_promptTokens.resize(size_t(sequence) + 1, 0);
            m_generated.resize(size_t(sequence) + 1, 0);
        }
        if (sequence >= 0)
            m_promptTokens[size_t(sequence)] = count;
    }
    if (m_next)
        m_next->onPromptTokens(sequence, count);
}

void TokenRecorder::onTraceBatch(std::vector<engine::TraceEvent>&& events)
{
    if (m_next)
        m_next->onTraceBatch(std::move(events));
}

void TokenRecorder::onSequenceDone(int sequence, const engine::GenerationResult& result)
{
    if (m_next)
        m_next->onSequenceDone(sequence, result);
}

void TokenRecorder::onPhase(engine::Phase phase)
{
    if (m_next)
        m_next->onPhase(phase);
}

std::vector<TokenRecord> TokenRecorder::tokens() const
{
    std::lock_guard lock(m_mutex);
    return m_tokens;
}

RunRecord TokenRecorder::record(const engine::RunRequest& request, const engine::RunResult& result) const
{
    RunRecord r;
    r.startedAt = SessionFile::nowUtc();
    r.settings = request;
    r.sequences = result.sequences;
    r.tokens = tokens();
    r.metrics = result.metrics;
    r.cancelled = result.cancelled;
    r.threads = result.threads;
    r.strategy = result.strategy;
    r.pinnedCpus = engine::Scheduler::pinnedCpus(request.scheduler);
    r.trace = result.trace;
    return r;
}

} // namespace session
