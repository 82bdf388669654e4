// Ships a run's trace to a consumer while the run goes on, from a helper thread of its own.
#pragma once

#include "engine/parallel/trace.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace engine {

// Drains a TraceRecorder about every 20 ms on a helper thread and hands each non-empty batch to a
// sink, so that copying events is never on a generating thread's path (done there, each batch left
// a visible gap in a lane); on a busy machine the helper mostly runs while a worker waits for work
// anyway. Batches never overlap: the helper sends them one at a time, and finish() sends the last
// one from the calling thread after the helper has stopped (the recorder has one reader at a time).
class TracePump {
public:
    using Sink = std::function<void(std::vector<TraceEvent>&& batch)>;
    static constexpr std::chrono::milliseconds kPeriod { 20 };

    // Starts the helper. Construct it before the run's clock starts, like the recorder.
    TracePump(TraceRecorder& recorder, Sink sink);
    ~TracePump(); // stops the helper however the run ends (no last batch then)
    TracePump(const TracePump&) = delete;
    TracePump& operator=(const TracePump&) = delete;

    // True once the sink has thrown on the helper: the run should stop after its current tokens.
    bool failed() const { return m_failed.load(std::memory_order_relaxed); }
    // After the run: stops the helper, rethrows what the sink threw there, else sends the last batch.
    void finish();

private:
    void pump(); // the helper's loop
    void stopHelper();

    TraceRecorder& m_recorder;
    Sink m_sink;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    std::exception_ptr m_error; // what the sink threw, rethrown by finish() on the calling thread
    std::atomic<bool> m_failed { false }; // set with m_error
    std::thread m_thread; // last: starts once every other member is ready
};

} // namespace engine
