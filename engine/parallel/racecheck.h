// Happens-before edges ThreadSanitizer cannot see by itself, declared where oneTBB hands work between threads.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <utility>

namespace engine::racecheck {

// Debian's oneTBB is not built with -fsanitize=thread: it queues a region's tasks and wakes its workers through
// its own atomics and futexes, which TSan does not see, so everything a region's caller wrote before the region
// looks unordered with the worker that reads it (and the workers' results with the caller after the join). These
// calls state the order TBB guarantees, on a token unique to the region (a local of the thread that starts it:
// concurrent regions, say hybrid's per-sequence ones, stay unordered with each other). They compile to nothing
// outside the tsan preset.
inline void release(const void* token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_release(const_cast<void*>(token));
#else
    (void)token;
#endif
}

inline void acquire(const void* token)
{
#if defined(__SANITIZE_THREAD__)
    __tsan_acquire(const_cast<void*>(token));
#else
    (void)token;
#endif
}

// One parallel region's edges, declared right before its fork: the caller's earlier writes are seen by each task
// (task() wraps the body), and the tasks' writes by the caller once the region has joined or thrown (destructor).
// Two tokens, so tasks are ordered after the fork and before the join but never with each other.
class Region {
public:
    Region() { release(&m_fork); }
    ~Region() { acquire(&m_join); }
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;

    template <typename F> auto task(F&& body) const
    {
        return [this, body = std::forward<F>(body)](auto&&... args) -> decltype(auto) {
            begin();
            struct End {
                const Region* region;
                ~End() { region->end(); }
            } end { this };
            return body(std::forward<decltype(args)>(args)...);
        };
    }
    void begin() const { acquire(&m_fork); } // for bodies that cannot be wrapped
    void end() const { release(&m_join); }

private:
    char m_fork = 0;
    char m_join = 0;
};

// A call handed to another thread through a queue ThreadSanitizer cannot see either (Qt's event loop, also
// Debian's): wrap the callable in it before queueing. The wrapper's last member is constructed after the payload
// (in the queue's copy too) and releases on its own address; the call acquires there before it reads the payload.
template <typename F> class Handoff {
public:
    explicit Handoff(F f)
        : m_f(std::move(f))
    {
    }
    Handoff(Handoff&& other)
        : m_f(std::move(other.m_f))
    {
    }
    Handoff(const Handoff& other)
        : m_f(other.m_f)
    {
    }
    Handoff& operator=(const Handoff&) = delete;
    decltype(auto) operator()()
    {
        acquire(&m_token);
        return m_f();
    }

private:
    struct Token {
        Token() { release(this); }
        Token(const Token&) { release(this); }
        Token& operator=(const Token&) = delete;
    };
    F m_f;
    Token m_token; // last: released once m_f is in place
};

} // namespace engine::racecheck
