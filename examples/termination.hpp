// SPDX-License-Identifier: MIT
// termination_signal: what the servers among the examples wait for to shut down, SIGINT or
// SIGTERM, read from a signalfd the loop watches like any other fd; and
// serve_until_terminated, their common life.
#pragma once

#include <corio/corio.hpp>

#include <csignal>
#include <cstdio>
#include <fmt/core.h>
#include <pthread.h>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unistd.h>

#include <sys/signalfd.h>

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later (make it
/// first in main, before the loop's thread pool exists), so that they wait in the signalfd
/// instead of killing the process.
class termination_signal {
public:
    termination_signal() {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGTERM);
        if (const int error = pthread_sigmask(SIG_BLOCK, &signals_, nullptr); error != 0)
            throw std::system_error(error, std::generic_category(), "pthread_sigmask");
        fd_ = corio::unique_fd(::signalfd(-1, &signals_, SFD_NONBLOCK | SFD_CLOEXEC));
        if (!fd_)
            throw std::system_error(errno, std::generic_category(), "signalfd");
    }

    /// Waits for SIGINT or SIGTERM and returns its number.
    corio::task<int> wait() {
        for (;;) {
            co_await corio::wait_readable(fd_.get());
            signalfd_siginfo info{};
            if (::read(fd_.get(), &info, sizeof info) == sizeof info)
                co_return static_cast<int>(info.ssi_signo);
        }
    }

private:
    sigset_t signals_{};
    corio::unique_fd fd_;
};

/// Says where `server` listens ("listening on HOST:PORT", the first line, flushed, so that a
/// script can read the port), serves until SIGINT or SIGTERM, then closes every connection.
inline corio::task<> serve_until_terminated(corio::server& server,
                                            std::string_view host,
                                            termination_signal& termination) {
    fmt::print("listening on {}:{}\n", host, server.port());
    std::fflush(stdout);
    co_await termination.wait();
    server.close();
    co_await server.wait_closed();
}
