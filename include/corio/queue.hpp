// SPDX-License-Identifier: MIT
// corio/queue.hpp: queue, lifo_queue and priority_queue, FIFO-fair producer/consumer queues
// for tasks (asyncio.Queue, asyncio.LifoQueue, asyncio.PriorityQueue), with asyncio 3.13's
// shutdown.
// Layer L5.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/loop_core.hpp>
#include <corio/detail/ring_buffer.hpp>
#include <corio/detail/wait_queue.hpp>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <optional>
#include <ostream>
#include <type_traits>
#include <utility>
#include <vector>

namespace corio {
namespace detail {

// The three orders. Each has push (a new item) and take (the next item out).

template <class T>
class fifo_store {
public:
    void push(T&& item) { items_.push_back(std::move(item)); }
    T take() { return items_.take_front(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

private:
    ring_buffer<T> items_;
};

template <class T>
class lifo_store {
public:
    void push(T&& item) { items_.push_back(std::move(item)); }
    T take() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

private:
    std::vector<T> items_;
};

// A binary heap with the smallest item (by Compare) on top, as Python's heapq.
template <class T, class Compare>
class priority_store {
public:
    explicit priority_store(Compare compare = Compare()) : compare_(std::move(compare)) {}

    void push(T&& item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), greater());
    }
    T take() {
        std::pop_heap(items_.begin(), items_.end(), greater());
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

private:
    auto greater() {
        return [this](const T& a, const T& b) {
            return compare_(b, a);
        };
    }

    std::vector<T> items_;
    Compare compare_;
};

template <class T, class Store>
class basic_queue;

template <class T, class Store>
class queue_get_waiter final : public queued_waiter {
public:
    explicit queue_get_waiter(basic_queue<T, Store>& q) : queued_waiter(running_core()), q_(&q) {}
    queue_get_waiter(queue_get_waiter&& other) noexcept
        : queued_waiter(std::move(other)), q_(other.q_) {} // before it is awaited only

    bool await_ready();
    void await_suspend(std::coroutine_handle<> frame);
    T await_resume();

    void describe(std::ostream& out) const override { describe_as(out, "queue.get"); }

private:
    friend class basic_queue<T, Store>;

    // Promised an item, then cancelled before it ran: the promise goes to the next getter and
    // the item stays where it is in the queue.
    bool give_back() noexcept override;

    basic_queue<T, Store>* q_;
    std::optional<T> item_; // taken without suspending
    bool shut_down_ = false;
};

template <class T, class Store>
class queue_put_waiter final : public queued_waiter {
public:
    queue_put_waiter(basic_queue<T, Store>& q, T&& item)
        : queued_waiter(running_core()), q_(&q), item_(std::move(item)) {}
    queue_put_waiter(queue_put_waiter&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : queued_waiter(std::move(other)), q_(other.q_), item_(std::move(other.item_)) {}

    bool await_ready();
    void await_suspend(std::coroutine_handle<> frame);
    void await_resume();

    void describe(std::ostream& out) const override { describe_as(out, "queue.put"); }

private:
    friend class basic_queue<T, Store>;

    // Promised a free slot, then cancelled before it ran: the item is not inserted and the
    // slot goes to the next put.
    bool give_back() noexcept override;

    basic_queue<T, Store>* q_;
    T item_;
    bool accepted_ = false; // put without suspending
    bool shut_down_ = false;
};

template <class T, class Store>
class queue_join_waiter final : public queued_waiter {
public:
    explicit queue_join_waiter(basic_queue<T, Store>& q) : queued_waiter(running_core()), q_(&q) {}
    queue_join_waiter(queue_join_waiter&& other) noexcept
        : queued_waiter(std::move(other)), q_(other.q_) {} // before it is awaited only

    bool await_ready() const noexcept;
    void await_suspend(std::coroutine_handle<> frame);
    void await_resume() { resumed(); }

    void describe(std::ostream& out) const override { describe_as(out, "queue.join"); }

private:
    // Woken because every item is done: the wake-up is kept, the cancellation waits for the
    // task's next suspension.
    bool give_back() noexcept override { return false; }

    basic_queue<T, Store>* q_;
};

/// What queue, lifo_queue and priority_queue share; `Store` decides the order.
/// asyncio: `asyncio.Queue` and its subclasses, with 3.13's shutdown().
///
/// FIFO-fair by promises: put() promises its item to the longest-waiting getter, and get()
/// on a full queue promises the freed slot to the longest-waiting putter. A promised item
/// stays in the queue until its getter runs, but it is that getter's: qsize() and empty()
/// leave it out and no newcomer can take it; a promised slot cannot be filled by another put. A
/// newcomer therefore never overtakes a waiting task, and a waiter cancelled after it was promised
/// something but before it ran passes the promise on: no item is lost, duplicated or moved.
/// Thread safety: loop thread only. A queue must outlive the tasks waiting on it.
template <class T, class Store>
class basic_queue {
public:
    using value_type = T;

    /// `maxsize` 0 means unbounded, as asyncio's maxsize <= 0.
    explicit basic_queue(std::size_t maxsize = 0, Store store = Store())
        : store_(std::move(store)), maxsize_(maxsize) {}
    basic_queue(const basic_queue&) = delete;
    basic_queue& operator=(const basic_queue&) = delete;

    /// Puts an item, waiting while the queue is full. asyncio: `await Queue.put(item)`.
    /// Cancellation: a waiting put leaves the queue and gets `cancelled_error`; its item is
    /// not inserted (it is destroyed with the awaiter). The same when the put was promised a
    /// free slot but was cancelled before it ran (asyncio does the same): the slot goes to
    /// the next waiting put. A put that throws never inserted its item.
    /// Throws: `queue_shut_down` after shutdown(), also to a put waiting when it happens;
    /// `no_running_loop` outside a running loop.
    [[nodiscard]] queue_put_waiter<T, Store> put(T item) {
        return queue_put_waiter<T, Store>(*this, std::move(item));
    }

    /// Takes the next item, waiting while there is none. asyncio: `await Queue.get()`.
    /// Cancellation: a waiting get leaves the queue and gets `cancelled_error`. A get promised
    /// an item but cancelled before it ran passes the promise to the next waiting get; the
    /// item stays in the queue, in its place.
    /// Throws: `queue_shut_down` when the queue is shut down and has no item for this get (a
    /// get waiting when shutdown() happens gets it too, and so does one promised an item that
    /// shutdown(true) dropped); `no_running_loop` outside a running loop.
    [[nodiscard]] queue_get_waiter<T, Store> get() { return queue_get_waiter<T, Store>(*this); }

    /// Puts an item without waiting. asyncio: `Queue.put_nowait(item)`.
    /// Throws: `queue_shut_down` after shutdown(); `queue_full` when the queue is full.
    void put_nowait(T item) {
        if (shut_down_)
            throw queue_shut_down();
        if (full() || !putters_.empty())
            throw queue_full();
        accept(std::move(item));
    }

    /// Takes the next item without waiting. asyncio: `Queue.get_nowait()`.
    /// Unlike asyncio, it does not take an item promised to a waiting get() that has not run
    /// yet (that item is not counted by qsize()).
    /// Throws: `queue_shut_down` when there is no item and the queue is shut down;
    /// `queue_empty` when there is no item.
    T get_nowait() {
        if (!available() || !getters_.empty()) {
            if (shut_down_)
                throw queue_shut_down();
            throw queue_empty();
        }
        return take();
    }

    /// Items a get could take now: those promised to a get() that has not run yet are
    /// already that get's. asyncio: `Queue.qsize()`.
    [[nodiscard]] std::size_t qsize() const noexcept { return store_.size() - promised_; }
    /// True when qsize() is 0: `if (!q.empty()) q.get_nowait();` never throws.
    /// asyncio: `Queue.empty()`.
    [[nodiscard]] bool empty() const noexcept { return !available(); }
    /// True when a put would wait; never for an unbounded queue. A slot promised to a put
    /// that has not run yet counts as taken. asyncio: `Queue.full()`.
    [[nodiscard]] bool full() const noexcept {
        return maxsize_ > 0 && store_.size() + reserved_ >= maxsize_;
    }
    /// 0 for an unbounded queue. asyncio: `Queue.maxsize`.
    [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }

    /// Marks one item taken by get() as processed; when every item put has been marked,
    /// join() returns. asyncio: `Queue.task_done()`.
    /// Throws: `invalid_state_error` (a `std::logic_error`; asyncio raises ValueError) when
    /// called more times than items were put.
    void task_done() {
        if (unfinished_ == 0)
            throw invalid_state_error(
                "corio: queue.task_done() called more times than there were items");
        if (--unfinished_ == 0)
            wake_joiners();
    }

    /// Waits until every item put has been marked with task_done(); returns at once if so.
    /// asyncio: `await Queue.join()`.
    /// Cancellation: a waiting join gets `cancelled_error`; one woken but cancelled before it
    /// ran returns normally and the cancellation comes at the task's next suspension.
    /// Throws: `no_running_loop` outside a running loop.
    [[nodiscard]] queue_join_waiter<T, Store> join() { return queue_join_waiter<T, Store>(*this); }

    /// Shuts the queue down, as asyncio 3.13's `Queue.shutdown(immediate)`: put() and
    /// put_nowait() throw `queue_shut_down` from now on, and so do the puts waiting. get()
    /// still takes the items left, then throws `queue_shut_down`; the gets waiting (there are
    /// only when no item is left for them) throw it at once. With `immediate`, the items left
    /// are dropped, promised ones included, and the count of unfinished items drops by as
    /// many (so join() may return): every get then throws `queue_shut_down`.
    void shutdown(bool immediate = false) {
        shut_down_ = true;
        if (immediate) {
            while (!store_.empty()) {
                (void)store_.take();
                if (unfinished_ > 0)
                    --unfinished_;
            }
            promised_ = 0; // the promised items are gone too
            if (unfinished_ == 0)
                wake_joiners();
        }
        while (queue_get_waiter<T, Store>* g = getters_.pop_front()) {
            g->shut_down_ = true;
            g->grant();
        }
        while (queue_put_waiter<T, Store>* p = putters_.pop_front()) {
            p->shut_down_ = true;
            p->grant();
        }
    }

    /// True after shutdown().
    [[nodiscard]] bool is_shut_down() const noexcept { return shut_down_; }

private:
    friend class queue_get_waiter<T, Store>;
    friend class queue_put_waiter<T, Store>;
    friend class queue_join_waiter<T, Store>;

    // Items no get() has been promised.
    [[nodiscard]] bool available() const noexcept { return store_.size() > promised_; }

    // An item enters the queue; the first waiting get is promised it.
    void accept(T&& item) {
        store_.push(std::move(item));
        ++unfinished_;
        promise_getters();
    }

    // An item leaves; the slot it frees is promised to the first waiting put.
    T take() {
        T item = store_.take();
        promise_putters();
        return item;
    }

    void promise_getters() noexcept {
        while (!getters_.empty() && available()) {
            ++promised_;
            getters_.pop_front()->grant();
        }
    }

    void promise_putters() noexcept {
        while (!shut_down_ && !putters_.empty() && !full()) {
            ++reserved_;
            putters_.pop_front()->grant();
        }
    }

    void wake_joiners() noexcept {
        while (queue_join_waiter<T, Store>* j = joiners_.pop_front())
            j->grant();
    }

    Store store_;
    std::size_t maxsize_;
    std::size_t promised_ = 0;   // items promised to gets that have not run yet
    std::size_t reserved_ = 0;   // slots promised to puts that have not run yet
    std::size_t unfinished_ = 0; // items put and not yet marked by task_done()
    wait_queue<queue_get_waiter<T, Store>> getters_;
    wait_queue<queue_put_waiter<T, Store>> putters_;
    wait_queue<queue_join_waiter<T, Store>> joiners_;
    bool shut_down_ = false;
};

template <class T, class Store>
bool queue_get_waiter<T, Store>::await_ready() {
    if (q_->available() && q_->getters_.empty()) {
        item_.emplace(q_->take());
        return true;
    }
    // Shut down: no put will come, and every item left is promised to an earlier get.
    if (q_->shut_down_)
        throw queue_shut_down();
    return false;
}

template <class T, class Store>
void queue_get_waiter<T, Store>::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    q_->getters_.push_back(*this);
    wait();
}

template <class T, class Store>
T queue_get_waiter<T, Store>::await_resume() {
    resumed();
    if (item_) {
        T item = std::move(*item_);
        item_.reset();
        return item;
    }
    if (shut_down_)
        throw queue_shut_down();
    // Promised an item: it is still in the queue unless shutdown(true) dropped it, and with
    // it every promise.
    if (q_->store_.empty())
        throw queue_shut_down();
    --q_->promised_;
    return q_->take();
}

template <class T, class Store>
bool queue_get_waiter<T, Store>::give_back() noexcept {
    if (!shut_down_ && !q_->store_.empty()) { // else shutdown(true) dropped the promised item
        --q_->promised_;
        q_->promise_getters();
    }
    return true;
}

template <class T, class Store>
bool queue_put_waiter<T, Store>::await_ready() {
    if (q_->shut_down_)
        throw queue_shut_down();
    if (!q_->putters_.empty() || q_->full())
        return false;
    q_->accept(std::move(item_));
    accepted_ = true;
    return true;
}

template <class T, class Store>
void queue_put_waiter<T, Store>::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    q_->putters_.push_back(*this);
    wait();
}

template <class T, class Store>
void queue_put_waiter<T, Store>::await_resume() {
    resumed();
    if (accepted_)
        return;
    if (shut_down_)
        throw queue_shut_down();
    // Promised a slot: fill it, unless the queue was shut down since.
    --q_->reserved_;
    if (q_->shut_down_)
        throw queue_shut_down();
    accepted_ = true;
    q_->accept(std::move(item_));
}

template <class T, class Store>
bool queue_put_waiter<T, Store>::give_back() noexcept {
    if (!shut_down_) {
        --q_->reserved_;
        q_->promise_putters();
    }
    return true;
}

template <class T, class Store>
bool queue_join_waiter<T, Store>::await_ready() const noexcept {
    return q_->unfinished_ == 0;
}

template <class T, class Store>
void queue_join_waiter<T, Store>::await_suspend(std::coroutine_handle<> frame) {
    bind(frame);
    q_->joiners_.push_back(*this);
    wait();
}

} // namespace detail

/// A first-in, first-out queue. asyncio: `asyncio.Queue(maxsize)`. See detail::basic_queue
/// for every member. Move-only items work.
template <class T>
class queue : public detail::basic_queue<T, detail::fifo_store<T>> {
public:
    using detail::basic_queue<T, detail::fifo_store<T>>::basic_queue;
};

/// A last-in, first-out queue (a stack). asyncio: `asyncio.LifoQueue(maxsize)`.
template <class T>
class lifo_queue : public detail::basic_queue<T, detail::lifo_store<T>> {
public:
    using detail::basic_queue<T, detail::lifo_store<T>>::basic_queue;
};

/// A queue that returns its smallest item first (by `Compare`), as asyncio.PriorityQueue
/// does, and unlike std::priority_queue, which returns the largest. Items that compare
/// equal come out in no particular order, as with heapq. asyncio:
/// `asyncio.PriorityQueue(maxsize)`.
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::priority_store<T, Compare>> {
public:
    explicit priority_queue(std::size_t maxsize = 0, Compare compare = Compare())
        : detail::basic_queue<T, detail::priority_store<T, Compare>>(
              maxsize, detail::priority_store<T, Compare>(std::move(compare))) {}
};

} // namespace corio
