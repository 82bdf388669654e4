// A RunListener that keeps every token as a TokenRecord (with its trace position), for programs without a window
// that write sessions (the CLI). Thread-safe, as RunListener requires; forwards every call to `next`, if any.
#pragma once

#include "session/session.h"

#include <mutex>

namespace session {

class TokenRecorder : public engine::RunListener {
public:
    explicit TokenRecorder(engine::RunListener* next = nullptr)
        : m_next(next)
    {
    }
    void onToken(int sequence, int32_t id, std::string_view text) override;
    void onPromptTokens(int sequence, int count) override;
    void onTraceBatch(std::vector<engine::TraceEvent>&& events) override;
    void onSequenceDone(int sequence, const engine::GenerationResult& result) override;
    void onPhase(engine::Phase phase) override;
    bool shouldStop() override { return m_next && m_next->shouldStop(); }

    std::vector<TokenRecord> tokens() const;
    // A run's record from its result and the tokens seen (started now, no analysis).
    RunRecord record(const engine::RunRequest& request, const engine::RunResult& result) const;

private:
    engine::RunListener* m_next;
    mutable std::mutex m_mutex;
    std::vector<TokenRecord> m_tokens;
    std::vector<int> m_promptTokens;
    std::vector<int> m_generated;
};

} // namespace session
