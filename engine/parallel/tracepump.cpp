#include "engine/parallel/tracepump.h"

namespace engine {

TracePump::TracePump(TraceRecorder& recorder, Sink sink)
    : m_recorder(recorder)
    , m_sink(std::move(sink))
    , m_thread([this] { pump(); })
{
}

TracePump::~TracePump() { stopHelper(); }

void TracePump::pump()
{
    std::unique_lock lock(m_mutex);
    while (!m_wake.wait_for(lock, kPeriod, [&] { return m_stop; })) {
        lock.unlock();
        try {
            auto batch = m_recorder.drain();
            if (!batch.empty())
                m_sink(std::move(batch));
        } catch (...) { // an exception leaving a thread would end the process
            m_error = std::current_exception();
            m_failed.store(true);
            return;
        }
        lock.lock();
    }
}

void TracePump::stopHelper()
{
    if (!m_thread.joinable())
        return;
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void TracePump::finish()
{
    stopHelper();
    if (m_error)
        std::rethrow_exception(m_error);
    auto batch = m_recorder.drain();
    if (!batch.empty())
        m_sink(std::move(batch));
}

} // namespace engine
