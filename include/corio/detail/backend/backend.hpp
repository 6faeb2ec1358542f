// SPDX-License-Identifier: MIT
// corio/detail/backend/backend.hpp: io_backend, the only interface the event loop waits on.
// Layer L3. epoll and io_uring implement it; the loop picks one at run time.
#pragma once

#include <corio/clock.hpp>

#include <optional>
#include <string_view>

namespace corio::detail {

class io_backend {
public:
    io_backend() = default;
    io_backend(const io_backend&) = delete;
    io_backend& operator=(const io_backend&) = delete;
    virtual ~io_backend() = default;

    /// "epoll" or "io_uring".
    [[nodiscard]] virtual std::string_view name() const noexcept = 0;

    /// Blocks until an I/O event, a wake() or the timeout, whichever comes first, and hands
    /// what completed to the loop. `std::nullopt` waits without a time limit; zero only polls.
    virtual void wait(std::optional<clock::duration> timeout) = 0;

    /// Makes a wait() in progress, or the next one, return at once. Callable from any thread;
    /// several calls before the wait returns count as one.
    virtual void wake() noexcept = 0;
};

} // namespace corio::detail
