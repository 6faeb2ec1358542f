// SPDX-License-Identifier: MIT
// corio/detail/backend/uring.hpp: the completion backend, on io_uring through liburing.
// Layer L3. Exists only when corio was built with liburing (CORIO_HAS_IO_URING). Besides this
// header, only the operations' descriptors include <liburing.h>, for their prepare().
#pragma once

#ifdef CORIO_HAS_IO_URING

#if defined(__SANITIZE_THREAD__)
#define CORIO_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORIO_UNDER_TSAN 1
#endif
#endif

#include <corio/detail/backend/backend.hpp>
#include <corio/detail/backend/wake_event.hpp>
#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/sys.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <poll.h>
#include <string>
#include <system_error>
#include <unistd.h>
#include <unordered_map>

#include <liburing.h>
#include <sys/stat.h>
#include <sys/syscall.h>

namespace corio::detail {

class uring_backend final : public io_backend {
public:
    /// Throws: `std::system_error` with the kernel's refusal (io_uring_queue_init's error).
    uring_backend() : io_backend(false) { setup_ring(); }
    ~uring_backend() override { io_uring_queue_exit(&ring_); }

    [[nodiscard]] std::string_view name() const noexcept override { return "io_uring"; }

    void submit(io_op& op) override {
        if (op.waits_for_readiness())
            check_pollable(op.fd());
        io_uring_sqe& sqe = next_sqe();
        op.prepare(sqe);
        io_uring_sqe_set_data64(&sqe, tag(&op, tag_op));
        ops_.push_back(op);
        ++in_flight_;
    }

    // The kernel may be writing into the operation's buffer right now: ask it to stop, and
    // let the operation's own completion (-ECANCELED, or a result that won) resume its task.
    cancel_answer cancel(io_op& op) noexcept override {
        if (!op.linked())
            return cancel_answer::too_late;
        if (io_uring_sqe* sqe = sqe_or_null()) {
            io_uring_prep_cancel64(sqe, tag(&op, tag_op), 0);
            io_uring_sqe_set_data64(sqe, tag_ignored);
        }
        return cancel_answer::pending;
    }

    void watch(int fd, io_direction direction, fd_watcher& watcher) override {
        check_pollable(fd);
        auto& slot = watches_[watch_key(fd, direction)];
        if (!slot)
            slot = std::make_unique<watch_entry>(watch_entry{fd, direction});
        if (std::exchange(slot->watcher, &watcher) == nullptr)
            ++watchers_;
        if (!slot->armed)
            arm(*slot);
    }

    void unwatch(int fd, io_direction direction) noexcept override {
        auto it = watches_.find(watch_key(fd, direction));
        if (it == watches_.end() || it->second->watcher == nullptr)
            return;
        watch_entry& entry = *it->second;
        entry.watcher = nullptr;
        --watchers_;
        if (!entry.armed) {
            watches_.erase(it);
            return;
        }
        // The entry goes when its poll's last completion comes.
        if (io_uring_sqe* sqe = sqe_or_null()) {
            io_uring_prep_poll_remove(sqe, tag(&entry, tag_watch));
            io_uring_sqe_set_data64(sqe, tag_ignored);
        }
    }

    bool wait(std::optional<clock::time_point> deadline) override {
        enable();
#ifdef CORIO_UNDER_TSAN
        // ThreadSanitizer runs a signal handler only inside a libc call it knows (epoll_wait,
        // pthread_sigmask, ...), never in io_uring_enter: under it, the wait goes in slices of
        // 10 ms, each ending in such a call, so a SIGINT's handler runs (and wakes the loop)
        // within 10 ms, as it does at once without the sanitizer.
        for (;;) {
            const clock::time_point slice_end = clock::now() + std::chrono::milliseconds(10);
            const bool last = deadline && *deadline <= slice_end;
            const bool progressed = wait_until(last ? deadline : slice_end);
            sigset_t current;
            ::pthread_sigmask(SIG_BLOCK, nullptr, &current);
            if (progressed || last)
                return progressed;
        }
#else
        return wait_until(deadline);
#endif
    }

    void wake() noexcept override {
        wake_.signal();
    }

    [[nodiscard]] std::size_t in_flight() const noexcept override {
        return in_flight_;
    }
    [[nodiscard]] std::size_t watchers() const noexcept override {
        return watchers_;
    }

    // Every operation is cancelled and its completion reaped before this returns: the frames
    // that own the buffers go right after.
    void cancel_all() noexcept override {
        ops_.for_each([this](io_op& op) { cancel(op); });
        try {
            while (in_flight_ > 0) {
                const int r = io_uring_submit_and_wait(&ring_, 1);
                if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN && r != -ETIME)
                    return; // the ring itself failed: nothing more will complete
                reap();
            }
        } catch (const std::system_error&) {
            // as above: a watcher could not be armed again because the ring failed
        }
    }

private:
    // user_data: a pointer with its kind in the low bits (both kinds are 8-byte aligned), or
    // a constant for the wake poll and for completions nobody waits for (cancels, removals).
    static constexpr std::uint64_t tag_op = 0, tag_watch = 1, tag_mask = 7;
    static constexpr std::uint64_t tag_wake = 2, tag_ignored = 3;

    struct watch_entry {
        int fd;
        io_direction direction;
        fd_watcher* watcher = nullptr;
        bool armed = false;
    };

    template <class T>
    static std::uint64_t tag(T* p, std::uint64_t kind) noexcept {
        return reinterpret_cast<std::uintptr_t>(p) | kind;
    }

    static std::uint64_t watch_key(int fd, io_direction d) noexcept {
        return static_cast<std::uint64_t>(static_cast<unsigned>(fd)) << 1 |
               (d == io_direction::read ? 0 : 1);
    }

    static unsigned poll_mask(io_direction d) noexcept {
        return d == io_direction::read ? POLLIN | POLLRDHUP : POLLOUT;
    }

    bool wait_until(std::optional<clock::time_point> deadline) {
        const auto timeout = time_left(deadline);
        int r;
        if (timeout && timeout->count() == 0) {
            r = io_uring_submit_and_get_events(&ring_);
        } else {
            __kernel_timespec ts{};
            if (timeout) {
                ts.tv_sec = static_cast<long long>(timeout->count() / 1'000'000'000);
                ts.tv_nsec = static_cast<long long>(timeout->count() % 1'000'000'000);
            }
            io_uring_cqe* first = nullptr;
            r = io_uring_submit_and_wait_timeout(
                &ring_, &first, 1, timeout ? &ts : nullptr, nullptr);
        }
        // ETIME: the deadline; EINTR: a signal (the loop looks at its work and time again);
        // EBUSY/EAGAIN: completions are backed up (reaping them below makes room).
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN)
            sys::throw_error(-r, "corio: io_uring_enter");
        return reap();
    }

    // Tries the setup flags from the most to the least helpful; a kernel that does not know
    // one refuses it with EINVAL, and the next set is tried. Any other refusal (EPERM from
    // seccomp or kernel.io_uring_disabled, ENOSYS, ENOMEM) is the answer.
    void setup_ring() {
        // SINGLE_ISSUER (6.0): only the loop's thread submits, so the kernel skips the
        // locking. DEFER_TASKRUN (6.1, needs SINGLE_ISSUER): completion work runs when the loop
        // asks for completions, batched, instead of interrupting it. COOP_TASKRUN (5.19): no
        // interrupt of the loop thread for completion work; it runs at the next entry.
        // R_DISABLED: the ring is enabled by the thread that first runs the loop, which then
        // is the single issuer (a loop may be built on one thread and run on another).
        static constexpr std::array<unsigned, 4> ladder = {
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
            IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED,
            IORING_SETUP_COOP_TASKRUN,
            0,
        };
        int r = -EINVAL;
        for (unsigned flags : ladder) {
            io_uring_params params{};
            // A completion queue 16 times the submission queue: bursts of completions rarely
            // overflow it, and overflow itself is handled (IORING_FEAT_NODROP).
            params.flags = flags | IORING_SETUP_CQSIZE;
            params.cq_entries = queue_entries * 16;
            r = io_uring_queue_init_params(queue_entries, &ring_, &params);
            if (r == 0) {
                disabled_ = (flags & IORING_SETUP_R_DISABLED) != 0;
                if (!disabled_)
                    arm_wake();
                return;
            }
            if (r != -EINVAL)
                break;
        }
        sys::throw_error(-r, "corio: io_uring_queue_init");
    }

    // First use, on the thread that runs the loop.
    void enable() {
        if (!disabled_)
            return;
        // The system call itself: Debian's liburing 2.3 declares io_uring_enable_rings but its
        // library does not export it.
        if (::syscall(
                __NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
            0)
            sys::throw_error(errno, "corio: enabling the io_uring ring");
        disabled_ = false;
        arm_wake();
    }

    // A poll on the wake eventfd, multishot: one submission serves every wake().
    void arm_wake() {
        io_uring_sqe& sqe = next_sqe();
        io_uring_prep_poll_multishot(&sqe, wake_.fd(), POLLIN);
        io_uring_sqe_set_data64(&sqe, tag_wake);
    }

    void arm(watch_entry& entry) {
        io_uring_sqe& sqe = next_sqe();
        // One-shot, armed again after each completion: the watcher is told once per look at
        // I/O for as long as the fd stays ready (level-triggered, as asyncio's add_reader).
        io_uring_prep_poll_add(&sqe, entry.fd, poll_mask(entry.direction));
        io_uring_sqe_set_data64(&sqe, tag(&entry, tag_watch));
        entry.armed = true;
    }

    // A submission slot; a full submission queue is handed to the kernel first. Completions
    // that are backed up (EBUSY) are reaped to make room.
    io_uring_sqe& next_sqe() {
        enable();
        for (;;) {
            if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_))
                return *sqe;
            const int r = io_uring_submit(&ring_);
            if (r == -EBUSY || r == -EAGAIN)
                reap();
            else if (r < 0 && r != -EINTR)
                sys::throw_error(-r, "corio: io_uring_submit");
        }
    }

    io_uring_sqe* sqe_or_null() noexcept {
        try {
            return &next_sqe();
        } catch (...) {
            return nullptr; // the ring failed: the operation completes on its own
        }
    }

    // epoll refuses regular files and directories (EPERM) and io_uring's poll would report
    // them ready forever: refuse them the same way, and a bad fd (EBADF), before waiting.
    static void check_pollable(int fd) {
        struct stat st {};
        if (::fstat(fd, &st) < 0)
            sys::throw_error(errno, "corio: cannot wait on fd " + std::to_string(fd));
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            sys::throw_error(EPERM, "corio: cannot wait on fd " + std::to_string(fd));
    }

    struct completion {
        std::uint64_t data;
        int result;
        unsigned flags;
    };

    // Takes the completions the kernel has, in batches, and handles them. Copied out first:
    // handling one may submit (a watcher armed again), and a full queue reaps from inside.
    // io_uring_peek_batch_cqe enters the kernel itself when completions wait outside the
    // queue: overflowed ones the kernel kept (IORING_FEAT_NODROP), deferred task work.
    bool reap() {
        bool progressed = false;
        std::array<io_uring_cqe*, 64> cqes;
        while (const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes.data(), cqes.size())) {
            std::array<completion, 64> batch;
            for (unsigned i = 0; i < n; ++i)
                batch[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
            io_uring_cq_advance(&ring_, n);
            for (unsigned i = 0; i < n; ++i)
                progressed = handle(batch[i]) || progressed;
        }
        return progressed;
    }

    bool handle(const completion& c) {
        if (c.data == tag_ignored || c.data == LIBURING_UDATA_TIMEOUT)
            return false;
        if (c.data == tag_wake) {
            wake_.drain();
            if ((c.flags & IORING_CQE_F_MORE) == 0)
                arm_wake(); // the kernel ended the multishot poll: start another
            return true;
        }
        if ((c.data & tag_mask) == tag_watch) {
            watch_completed(*reinterpret_cast<watch_entry*>(c.data & ~tag_mask), c.result);
            return true;
        }
        io_op& op = *reinterpret_cast<io_op*>(c.data);
        if ((c.flags & IORING_CQE_F_MORE) != 0) {
            op.progress(c.result); // a multishot submission goes on
            return true;
        }
        op.unlink();
        --in_flight_;
        op.complete(c.result);
        return true;
    }

    void watch_completed(watch_entry& entry, int result) {
        entry.armed = false;
        if (entry.watcher == nullptr) { // removed meanwhile
            watches_.erase(watch_key(entry.fd, entry.direction));
            return;
        }
        if (result != -ECANCELED)   // else removed and watched again before the removal landed
            entry.watcher->ready(); // only queues the watcher's call: the entry stays
        if (result >= 0 || result == -ECANCELED) // a failed poll (a bad fd) would fail again
            arm(entry);
    }

    static constexpr unsigned queue_entries = 256;

    io_uring ring_{};
    wake_event wake_;
    bool disabled_ = false;
    intrusive_list<io_op> ops_;
    std::unordered_map<std::uint64_t, std::unique_ptr<watch_entry>> watches_;
    std::size_t in_flight_ = 0;
    std::size_t watchers_ = 0;
};

} // namespace corio::detail

#endif // CORIO_HAS_IO_URING
