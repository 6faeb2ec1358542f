// SPDX-License-Identifier: MIT
// corio/detail/wait_queue.hpp: queued_waiter and wait_queue, the FIFO of tasks suspended on a
// synchronization primitive (lock, semaphore, event, condition, barrier, queue).
// Layer L4.
//
// The protocol every primitive follows:
// - a waiter is linked at the back of its primitive's wait_queue in await_suspend, then waits;
// - the primitive serves waiters from the front: it pops one, stores what the waiter gets (the
//   lock, a permit, an item, an error) in the waiter, and calls grant(), which schedules the
//   frame; nothing is ever resumed inline, and ownership passes at grant time, so a newcomer
//   cannot overtake a granted waiter (direct hand-off, FIFO-fair);
// - a cancelled waiter that is still linked unlinks itself and resumes with cancelled_error;
// - a waiter cancelled after it was granted but before it ran calls give_back(): it passes what
//   it got to the next waiter (or back to the primitive) and resumes with cancelled_error, as
//   asyncio's Lock does; a waiter with nothing to give back (event, barrier, join) keeps its
//   result and the cancellation is delivered at the task's next suspension, corio's rule;
// - a waiter destroyed while linked (its frame destroyed) unlinks itself. One destroyed after it
//   was granted but before it ran (only a closing loop destroys such frames) gives nothing
//   back: the primitive may be gone already.
#pragma once

#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/loop_waiter.hpp>
#include <corio/detail/scheduler.hpp>

#include <cstddef>
#include <ostream>
#include <utility>

namespace corio::detail {

class wait_queue_base;

/// A task suspended on a synchronization primitive, linked in its wait_queue until served.
class queued_waiter : public loop_waiter, public list_hook {
public:
    /// Called by the primitive after it popped this waiter and stored what it gets: the task
    /// resumes in the loop's next run of ready tasks.
    void grant() noexcept {
        granted_ = true;
        resume_later();
    }

protected:
    explicit queued_waiter(scheduler& loop) noexcept : loop_waiter(loop) {}
    /// Only before it is awaited (gather moves awaitables into tasks of their own).
    queued_waiter(queued_waiter&& other) noexcept : loop_waiter(std::move(other)) {}
    inline ~queued_waiter();

    // Still queued: withdrawn. Granted: the resume is queued; hand back what it got, or keep it.
    cancel_answer stop() noexcept override {
        if (linked())
            withdraw();
        else if (!give_back())
            return cancel_answer::too_late;
        return cancel_answer::stopped;
    }

    /// The waiter was granted, then cancelled before it resumed. Returns true when it passed
    /// what it got on (the task then resumes with cancelled_error); false when it keeps it and
    /// the cancellation waits for the task's next suspension.
    virtual bool give_back() noexcept = 0;

    /// Writes "<what>, N waiters ahead" while queued, "<what>, granted" once served.
    inline void describe_as(std::ostream& out, const char* what) const;

    bool granted_ = false;

private:
    friend class wait_queue_base;
    inline void withdraw() noexcept;

    wait_queue_base* queue_ = nullptr;
};

/// The FIFO of waiters of one primitive, with its length. Never owns its waiters.
class wait_queue_base {
public:
    wait_queue_base() = default;
    wait_queue_base(const wait_queue_base&) = delete;
    wait_queue_base& operator=(const wait_queue_base&) = delete;

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// How many waiters are queued before `w`.
    [[nodiscard]] std::size_t ahead_of(const queued_waiter& w) const noexcept {
        std::size_t n = 0;
        bool found = false;
        list_.for_each([&](const queued_waiter& x) {
            if (&x == &w)
                found = true;
            else if (!found)
                ++n;
        });
        return n;
    }

protected:
    void push(queued_waiter& w) noexcept {
        list_.push_back(w);
        w.queue_ = this;
        ++size_;
    }

    queued_waiter* pop() noexcept {
        queued_waiter* w = list_.pop_front();
        if (w != nullptr) {
            w->queue_ = nullptr;
            --size_;
        }
        return w;
    }

private:
    friend class queued_waiter;

    void erase(queued_waiter& w) noexcept {
        w.unlink();
        w.queue_ = nullptr;
        --size_;
    }

    intrusive_list<queued_waiter> list_;
    std::size_t size_ = 0;
};

/// A wait_queue_base whose waiters are all `W`s.
template <class W>
class wait_queue : public wait_queue_base {
public:
    void push_back(W& w) noexcept { push(w); }
    /// Unlinks and returns the first waiter, or nullptr.
    W* pop_front() noexcept { return static_cast<W*>(pop()); }
};

queued_waiter::~queued_waiter() {
    if (linked())
        queue_->erase(*this);
}

void queued_waiter::withdraw() noexcept {
    queue_->erase(*this);
}

void queued_waiter::describe_as(std::ostream& out, const char* what) const {
    out << what;
    if (linked()) {
        const std::size_t n = queue_->ahead_of(*this);
        out << ", " << n << (n == 1 ? " waiter" : " waiters") << " ahead";
    } else if (granted_) {
        out << ", granted";
    }
}

} // namespace corio::detail
