// SPDX-License-Identifier: MIT
// corio/detail/callback.hpp: callback_node, a plain function queued on the loop by call_soon,
// call_later or call_at, shared by the loop and the handles that can cancel it.
// Layer L3. Loop thread only, except that call_soon_threadsafe builds one on another thread
// and hands it over under the loop's inbox lock.
#pragma once

#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/ready_queue.hpp>
#include <corio/detail/scheduler.hpp>
#include <corio/detail/timer_heap.hpp>

#include <utility>

namespace corio::detail {

// The loop holds one reference while the callback is pending (linked in the loop's list of
// pending callbacks), each handle another. A pending callback sits either in the timer heap
// (scheduled()) or in the ready queue; one cancelled in the ready queue is skipped there.
class callback_node : public timer_node, public list_hook, public ready_link {
public:
    explicit callback_node(scheduler* owner) noexcept : owner_(owner) {}
    virtual ~callback_node() = default;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0)
            delete this;
    }

    /// Not yet run, not cancelled, and its loop is still open.
    [[nodiscard]] bool pending() const noexcept { return linked() && !cancelled_; }
    [[nodiscard]] bool cancelled() const noexcept { return cancelled_; }

    /// asyncio's Handle.cancel: the callback will not run (if it has not run already), and
    /// cancelled() is true from now on either way.
    void cancel() noexcept {
        const bool was_pending = pending();
        cancelled_ = true;
        if (was_pending && scheduled()) { // in the timer heap: drop the loop's reference now
            owner_->remove_timer(*this);
            unlink();
            release();
        }
    }

    virtual void invoke() = 0;

private:
    void expire() noexcept override { owner_->schedule(*this); }

    scheduler* owner_;
    int refs_ = 1; // the loop's
    bool cancelled_ = false;
};

inline void scheduler::schedule(callback_node& callback) noexcept {
    ready_.push_back(callback, ready_queue::kind::callback);
}

template <class F>
class callback final : public callback_node {
public:
    callback(scheduler* owner, F fn) : callback_node(owner), fn_(std::move(fn)) {}

    void invoke() override { fn_(); }

private:
    F fn_;
};

} // namespace corio::detail
