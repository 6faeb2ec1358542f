// SPDX-License-Identifier: MIT
// corio/detail/backend/epoll.hpp: the readiness backend, on epoll with an eventfd for wake().
// Layer L3. The only header that includes <sys/epoll.h>.
#pragma once

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/fd.hpp>
#include <corio/detail/sys.hpp>

#include <array>
#include <chrono>
#include <cstdint>

#include <sys/epoll.h>
#include <sys/eventfd.h>

namespace corio::detail {

class epoll_backend final : public io_backend {
public:
    epoll_backend()
        : epoll_(sys::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
          wake_fd_(sys::check(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd")) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr; // null marks the wake eventfd
        sys::check(::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev),
                   "epoll_ctl(eventfd)");
    }

    [[nodiscard]] std::string_view name() const noexcept override { return "epoll"; }

    void wait(std::optional<clock::duration> timeout) override {
        std::array<epoll_event, 128> events;
        int n = wait_for_events(events.data(), static_cast<int>(events.size()), timeout);
        for (int i = 0; i < n; ++i)
            if (events[static_cast<std::size_t>(i)].data.ptr == nullptr)
                drain_wake_fd();
    }

    void wake() noexcept override {
        std::uint64_t one = 1;
        // EAGAIN means the counter is already non-zero: the loop is woken either way.
        [[maybe_unused]] auto r = ::write(wake_fd_.get(), &one, sizeof one);
    }

private:
    int wait_for_events(epoll_event* events, int max, std::optional<clock::duration> timeout) {
        for (;;) {
            int n = use_pwait2_ ? pwait2(events, max, timeout)
                                : ::epoll_wait(epoll_.get(), events, max, milliseconds(timeout));
            if (n >= 0)
                return n;
            if (errno == ENOSYS && use_pwait2_) {
                use_pwait2_ = false; // kernels before 5.11
                continue;
            }
            // A signal: return, so the loop computes the timeout again from its timers.
            // Retrying with the same relative timeout would restart it at every signal.
            if (errno == EINTR)
                return 0;
            sys::throw_error(errno, "epoll_wait");
        }
    }

    // epoll_pwait2 takes nanoseconds; plain epoll_wait would round every timer to 1 ms.
    int pwait2(epoll_event* events, int max, std::optional<clock::duration> timeout) {
        if (!timeout)
            return ::epoll_pwait2(epoll_.get(), events, max, nullptr, nullptr);
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        return ::epoll_pwait2(epoll_.get(), events, max, &ts, nullptr);
    }

    static int milliseconds(std::optional<clock::duration> timeout) {
        if (!timeout)
            return -1;
        // Round up: waking early would spin until the timer is due.
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
        return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
    }

    void drain_wake_fd() noexcept {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_.get(), &count, sizeof count);
    }

    unique_fd epoll_;
    unique_fd wake_fd_;
    bool use_pwait2_ = true;
};

} // namespace corio::detail
