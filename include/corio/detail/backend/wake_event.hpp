// SPDX-License-Identifier: MIT
// corio/detail/backend/wake_event.hpp: wake_event, the eventfd a backend's wait watches so
// that another thread or a signal handler can end it.
// Layer L3.
#pragma once

#include <corio/unique_fd.hpp>

#include <corio/detail/sys.hpp>

#include <cstdint>
#include <unistd.h>

#include <sys/eventfd.h>

namespace corio::detail {

class wake_event {
public:
    wake_event() : fd_(sys::check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {}

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

    /// Makes the fd readable. Callable from any thread and from a signal handler.
    void signal() noexcept {
        std::uint64_t one = 1;
        // EAGAIN means the counter is already non-zero: the waiter is woken either way.
        [[maybe_unused]] auto r = ::write(fd_.get(), &one, sizeof one);
    }

    /// Makes it unreadable again, however many signals came: they count as one.
    void drain() noexcept {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(fd_.get(), &count, sizeof count);
    }

private:
    unique_fd fd_;
};

} // namespace corio::detail
