// SPDX-License-Identifier: MIT
// corio/detail/sigint.hpp: sigint_scope, which turns SIGINT into an interrupt of the loop
// while run() runs (asyncio.Runner's SIGINT handling).
// Layer L6. The only header that installs a signal handler.
#pragma once

#include <corio/event_loop.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <unistd.h>

#include <sys/syscall.h>

namespace corio::detail {

// The loop a SIGINT goes to. A signal handler can reach nothing else.
inline std::atomic<event_loop*> sigint_loop{nullptr};

// Only a lock-free atomic and a write to the loop's eventfd: async-signal-safe.
inline void on_sigint(int) {
    const int saved_errno = errno;
    if (event_loop* loop = sigint_loop.load(std::memory_order_acquire))
        loop->interrupt();
    errno = saved_errno;
}

/// Installs the handler for its lifetime, only on the main thread and only where SIGINT has
/// its default disposition (as asyncio does: a program that set its own handler keeps it).
class sigint_scope {
public:
    sigint_scope(event_loop& loop, bool enabled) {
        if (!enabled || !on_main_thread())
            return;
        struct sigaction current {};
        if (::sigaction(SIGINT, nullptr, &current) != 0 || current.sa_handler != SIG_DFL ||
            (current.sa_flags & SA_SIGINFO) != 0)
            return;
        event_loop* none = nullptr;
        if (!sigint_loop.compare_exchange_strong(none, &loop))
            return;
        struct sigaction ours {};
        ours.sa_handler = on_sigint;
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = SA_RESTART;
        if (::sigaction(SIGINT, &ours, &previous_) != 0) {
            sigint_loop.store(nullptr, std::memory_order_release);
            return;
        }
        installed_ = true;
    }

    sigint_scope(const sigint_scope&) = delete;
    sigint_scope& operator=(const sigint_scope&) = delete;

    // Restores the previous disposition only if ours is still there: a program that set its
    // own handler meanwhile keeps it (asyncio does the same).
    ~sigint_scope() {
        if (!installed_)
            return;
        struct sigaction current {};
        if (::sigaction(SIGINT, nullptr, &current) == 0 && current.sa_handler == on_sigint &&
            (current.sa_flags & SA_SIGINFO) == 0)
            ::sigaction(SIGINT, &previous_, nullptr);
        sigint_loop.store(nullptr, std::memory_order_release);
    }

private:
    static bool on_main_thread() noexcept { return ::syscall(SYS_gettid) == ::getpid(); }

    struct sigaction previous_ {};
    bool installed_ = false;
};

} // namespace corio::detail
