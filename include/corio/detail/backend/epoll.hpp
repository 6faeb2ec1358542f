// SPDX-License-Identifier: MIT
// corio/detail/backend/epoll.hpp: the readiness backend, on epoll with an eventfd for wake():
// an operation performs its system call when its fd is ready.
// Layer L3. The only header that includes <sys/epoll.h>.
#pragma once

#include <corio/unique_fd.hpp>

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/backend/wake_event.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/sys.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <sys/epoll.h>

namespace corio::detail {

class epoll_backend final : public io_backend {
public:
    epoll_backend()
        : io_backend(true), epoll_(sys::check(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = nullptr; // null marks the wake eventfd
        sys::check(::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.fd(), &ev), "epoll_ctl(eventfd)");
    }

    [[nodiscard]] std::string_view name() const noexcept override { return "epoll"; }

    void submit(io_op& op) override {
        fd_entry& e = entry(op.fd());
        link(e, op);
        try {
            update(e);
        } catch (...) {
            unlink(e, op);
            forget_if_idle(e);
            throw;
        }
    }

    // Unlinking is all it takes: nothing of the operation is in the kernel.
    cancel_answer cancel(io_op& op) noexcept override {
        if (!op.linked())
            return cancel_answer::too_late;
        fd_entry& e = *fds_.at(op.fd());
        unlink(e, op);
        refresh(e.fd);
        return cancel_answer::stopped;
    }

    void watch(int fd, io_direction direction, fd_watcher& watcher) override {
        fd_entry& e = entry(fd);
        fd_watcher* before = std::exchange(e.watchers[index(direction)], &watcher);
        try {
            update(e);
        } catch (...) {
            e.watchers[index(direction)] = before;
            forget_if_idle(e);
            throw;
        }
        if (before == nullptr)
            ++watchers_;
    }

    void unwatch(int fd, io_direction direction) noexcept override {
        auto it = fds_.find(fd);
        if (it == fds_.end())
            return;
        if (std::exchange(it->second->watchers[index(direction)], nullptr) != nullptr)
            --watchers_;
        refresh(fd);
    }

    bool wait(std::optional<clock::time_point> deadline) override {
        std::array<epoll_event, 128> events;
        int n = wait_for_events(events.data(), static_cast<int>(events.size()), deadline);
        for (int i = 0; i < n; ++i) {
            const epoll_event& ev = events[static_cast<std::size_t>(i)];
            if (ev.data.ptr == nullptr)
                wake_.drain();
            else
                dispatch(*static_cast<fd_entry*>(ev.data.ptr), ev.events);
        }
        return n > 0;
    }

    void wake() noexcept override { wake_.signal(); }

    [[nodiscard]] std::size_t in_flight() const noexcept override { return in_flight_; }
    [[nodiscard]] std::size_t watchers() const noexcept override { return watchers_; }

    void cancel_all() noexcept override {
        for (auto& [fd, e] : fds_)
            for (auto& ops : e->ops)
                complete_all(*e, ops, -ECANCELED);
        for (auto it = fds_.begin(); it != fds_.end();) {
            fd_entry& e = *it->second;
            ++it;
            refresh(e.fd);
        }
    }

protected:
    bool keep_registered(fd_attachment& attachment) override {
        entry(attachment.fd()).kept = &attachment;
        return true;
    }

    void stop_keeping(fd_attachment& attachment) noexcept override {
        auto it = fds_.find(attachment.fd());
        if (it == fds_.end())
            return;
        it->second->kept = nullptr;
        refresh(attachment.fd());
    }

private:
    // One registration per fd, shared by its operations and its watchers. Level-triggered
    // and limited to the directions someone waits for, so a watcher is called on every
    // iteration while its fd is ready (asyncio's add_reader), an operation that found nothing
    // (another took the data) tries again while there is something, and a fd nobody waits on
    // costs nothing. An fd nobody waits on is deregistered: it is the caller's, and may be closed.
    // A kept fd (attached: its owner says when it closes it) stays registered, edge-triggered
    // for both directions, so its waits cost no epoll_ctl: every operation on it tries its
    // system call before it waits, so an edge reported while none waited is never missed.
    // Watchers and readiness waits have nothing to try, so while there are some it is
    // level-triggered as any other fd; switching back re-arms (EPOLL_CTL_MOD reports what is
    // ready then).
    struct fd_entry {
        int fd = -1;
        std::uint32_t registered = 0;    // the events epoll watches; 0: not registered
        fd_attachment* kept = nullptr;   // told each time the fd is readable
        std::size_t readiness_waits = 0; // operations that only wait for readiness
        std::array<intrusive_list<io_op>, 2> ops;
        std::array<fd_watcher*, 2> watchers{};
    };

    static std::size_t index(io_direction d) noexcept { return d == io_direction::read ? 0 : 1; }

    fd_entry& entry(int fd) {
        auto& slot = fds_[fd];
        if (!slot) {
            slot = std::make_unique<fd_entry>();
            slot->fd = fd;
        }
        return *slot;
    }

    void link(fd_entry& e, io_op& op) noexcept {
        e.ops[index(op.direction())].push_back(op);
        e.readiness_waits += op.waits_for_readiness() ? 1 : 0;
        ++in_flight_;
    }

    void unlink(fd_entry& e, io_op& op) noexcept {
        op.unlink(); // nothing to do if popped already
        e.readiness_waits -= op.waits_for_readiness() ? 1 : 0;
        --in_flight_;
    }

    [[nodiscard]] static bool edge_triggered(const fd_entry& e) noexcept {
        return e.kept != nullptr && e.readiness_waits == 0 && e.watchers[0] == nullptr &&
               e.watchers[1] == nullptr;
    }

    [[nodiscard]] static std::uint32_t wanted(const fd_entry& e) noexcept {
        if (edge_triggered(e))
            return EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET;
        std::uint32_t events = 0;
        if (!e.ops[0].empty() || e.watchers[0] != nullptr)
            events |= EPOLLIN | EPOLLRDHUP;
        if (!e.ops[1].empty() || e.watchers[1] != nullptr)
            events |= EPOLLOUT;
        return events;
    }

    // Brings the registration in line with what is wanted. Throws when epoll refuses the fd.
    void update(fd_entry& e) {
        const std::uint32_t events = wanted(e);
        if (events == e.registered)
            return;
        epoll_event ev{};
        ev.events = events;
        ev.data.ptr = &e;
        int op = events == 0 ? EPOLL_CTL_DEL : e.registered == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        int r = ::epoll_ctl(epoll_.get(), op, e.fd, &ev);
        // The caller closed the fd while registered (epoll forgot it) and the number is in
        // use again: register it anew.
        if (r < 0 && errno == ENOENT && op == EPOLL_CTL_MOD)
            r = ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, e.fd, &ev);
        if (r < 0 && op != EPOLL_CTL_DEL)
            sys::throw_error(errno, "corio: cannot wait on fd " + std::to_string(e.fd));
        e.registered = events;
    }

    // After an operation or a watcher went: narrows the registration, never fails (a DEL or a
    // narrowing MOD on an fd the caller closed meanwhile is refused harmlessly).
    void refresh(int fd) noexcept {
        auto it = fds_.find(fd);
        if (it == fds_.end())
            return;
        try {
            update(*it->second);
        } catch (...) {
            it->second->registered = 0;
        }
        forget_if_idle(*it->second);
    }

    void forget_if_idle(fd_entry& e) noexcept {
        if (e.registered == 0 && wanted(e) == 0)
            fds_.erase(e.fd);
    }

    void dispatch(fd_entry& e, std::uint32_t events) noexcept {
        const int fd = e.fd;
        const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
        if (failed || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
            if (e.kept != nullptr) // before the reads, which may find it drained again
                e.kept->became_readable(failed || (events & EPOLLRDHUP) != 0);
            notify(e, 0);
        }
        if (failed || (events & EPOLLOUT) != 0)
            notify(e, 1);
        refresh(fd);
    }

    void notify(fd_entry& e, std::size_t direction) noexcept {
        perform_all(e, e.ops[direction]);
        if (fd_watcher* w = e.watchers[direction])
            w->ready();
    }

    // Each operation tries its system call in turn, oldest first; one that would still block
    // (another took the data) stays for the next readiness.
    void perform_all(fd_entry& e, intrusive_list<io_op>& ops) noexcept {
        ops.for_each([this, &e](io_op& op) {
            const int result = op.perform();
            if (result == -EAGAIN)
                return;
            unlink(e, op);
            op.complete(result);
        });
    }

    void complete_all(fd_entry& e, intrusive_list<io_op>& ops, int result) noexcept {
        while (io_op* op = ops.pop_front()) {
            unlink(e, *op);
            op->complete(result);
        }
    }

    int wait_for_events(epoll_event* events, int max, std::optional<clock::time_point> deadline) {
        for (;;) {
            const auto timeout = time_left(deadline);
            int n = use_pwait2_ ? pwait2(events, max, timeout)
                                : ::epoll_wait(epoll_.get(), events, max, milliseconds(timeout));
            if (n >= 0)
                return n;
            if (errno == ENOSYS && use_pwait2_) {
                use_pwait2_ = false; // kernels before 5.11
                continue;
            }
            if (errno == EINTR) // a signal: the loop may have work now, and time to check
                return 0;
            sys::throw_error(errno, "epoll_wait");
        }
    }

    // epoll_pwait2 takes nanoseconds; plain epoll_wait would round every timer to 1 ms.
    int pwait2(epoll_event* events, int max, std::optional<std::chrono::nanoseconds> timeout) {
        if (!timeout)
            return ::epoll_pwait2(epoll_.get(), events, max, nullptr, nullptr);
        auto ns = timeout->count();
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        return ::epoll_pwait2(epoll_.get(), events, max, &ts, nullptr);
    }

    static int milliseconds(std::optional<std::chrono::nanoseconds> timeout) {
        if (!timeout)
            return -1;
        // Round up: waking early would spin until the timer is due.
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(*timeout).count();
        return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
    }

    unique_fd epoll_;
    wake_event wake_;
    std::unordered_map<int, std::unique_ptr<fd_entry>> fds_;
    std::size_t in_flight_ = 0;
    std::size_t watchers_ = 0;
    bool use_pwait2_ = true;
};

} // namespace corio::detail
