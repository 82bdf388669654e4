// Happens-before edges ThreadSanitizer cannot see by itself, declared where a queue it cannot see hands data over.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <utility>

namespace engine::racecheck {

// Debian's Qt and oneTBB are not built with -fsanitize=thread: what they hand between threads goes through their
// own atomics and futexes, which TSan does not see. These calls state such an order on a token (any address both
// sides know without reading shared memory). They compile to nothing outside the tsan preset.
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
