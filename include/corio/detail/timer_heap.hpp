// SPDX-License-Identifier: MIT
// corio/detail/timer_heap.hpp: a 4-ary min-heap of timers ordered by (deadline, insertion).
// Layer L3. Each node records its own position, so removing a cancelled timer is O(log n)
// and leaves nothing stale behind; four children per node keep the heap shallow. The heap
// holds each deadline beside its node pointer, so sifting compares entries in the heap's own
// array (four children in one cache line) instead of loading a node from anywhere in memory
// for every comparison: with a million timers those loads were most of the loop's time.
#pragma once

#include <corio/clock.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace corio::detail {

class timer_node {
public:
    timer_node() noexcept = default;
    /// A node that knows its deadline before it is scheduled (push sets it again).
    explicit timer_node(clock::time_point deadline) noexcept : deadline_(deadline) {}
    /// Only for a node not scheduled: the new one starts unscheduled, with the same deadline.
    timer_node(timer_node&& other) noexcept : deadline_(other.deadline_) {}
    timer_node(const timer_node&) = delete;
    timer_node& operator=(const timer_node&) = delete;

    [[nodiscard]] bool scheduled() const noexcept { return index_ != npos; }
    [[nodiscard]] clock::time_point deadline() const noexcept { return deadline_; }

    /// Called by the loop when the deadline has passed; the node is already out of the heap.
    virtual void expire() noexcept = 0;

protected:
    ~timer_node() = default;

private:
    friend class timer_heap;
    static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);

    // Every sleeping task's frame holds a node, so its words are counted: the position and
    // the insertion number share one.
    clock::time_point deadline_{};
    std::uint32_t sequence_ = 0;
    std::uint32_t index_ = npos;
};

class timer_heap {
public:
    /// `first_sequence` is for tests, which start near the end of the insertion numbers.
    explicit timer_heap(std::uint32_t first_sequence = 0) noexcept
        : next_sequence_(first_sequence) {}

    [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
    [[nodiscard]] timer_node& top() const noexcept { return *nodes_.front().node; }

    /// Throws `std::length_error` with 2^32 - 1 timers pending, `std::bad_alloc`; then
    /// nothing changed.
    void push(timer_node& node, clock::time_point deadline) {
        if (nodes_.size() == timer_node::npos)
            throw std::length_error("corio: too many timers pending (4,294,967,295)");
        if (next_sequence_ == last_sequence)
            renumber();
        nodes_.push_back(entry{deadline, &node});
        node.deadline_ = deadline;
        node.sequence_ = next_sequence_++;
        node.index_ = static_cast<std::uint32_t>(nodes_.size() - 1);
        sift_up(node.index_);
    }

    void erase(timer_node& node) noexcept {
        std::size_t i = node.index_;
        node.index_ = timer_node::npos;
        const entry last = nodes_.back();
        nodes_.pop_back();
        if (last.node == &node)
            return;
        place(last, i);
        if (i > 0 && before(last, nodes_[parent(i)]))
            sift_up(i);
        else
            sift_down(i);
    }

    timer_node& pop() noexcept {
        timer_node& first = top();
        erase(first);
        return first;
    }

private:
    struct entry {
        clock::time_point deadline;
        timer_node* node;
    };

    // Equal deadlines, rare outside tests, are the only comparisons that load the nodes.
    static bool before(const entry& a, const entry& b) noexcept {
        return a.deadline < b.deadline ||
               (a.deadline == b.deadline && a.node->sequence_ < b.node->sequence_);
    }

    static constexpr std::size_t arity = 4;
    static std::size_t parent(std::size_t i) noexcept { return (i - 1) / arity; }

    void place(const entry& e, std::size_t i) noexcept {
        nodes_[i] = e;
        e.node->index_ = static_cast<std::uint32_t>(i);
    }

    // Insertion numbers are 32 bits: when they run out, once in four billion timers, the
    // pending ones are numbered again from 0 in the order they already have, which leaves the
    // heap as it is.
    void renumber() {
        std::vector<entry> order(nodes_);
        std::sort(order.begin(), order.end(), before);
        std::uint32_t n = 0;
        for (const entry& e : order)
            e.node->sequence_ = n++;
        next_sequence_ = n;
    }

    void sift_up(std::size_t i) noexcept {
        const entry e = nodes_[i];
        while (i > 0 && before(e, nodes_[parent(i)])) {
            place(nodes_[parent(i)], i);
            i = parent(i);
        }
        place(e, i);
    }

    void sift_down(std::size_t i) noexcept {
        const entry e = nodes_[i];
        const std::size_t n = nodes_.size();
        for (;;) {
            std::size_t first_child = i * arity + 1;
            if (first_child >= n)
                break;
            std::size_t best = first_child;
            std::size_t end = first_child + arity < n ? first_child + arity : n;
            for (std::size_t c = first_child + 1; c < end; ++c)
                if (before(nodes_[c], nodes_[best]))
                    best = c;
            if (!before(nodes_[best], e))
                break;
            place(nodes_[best], i);
            i = best;
        }
        place(e, i);
    }

    static constexpr std::uint32_t last_sequence = static_cast<std::uint32_t>(-1);

    std::vector<entry> nodes_;
    std::uint32_t next_sequence_;
};

} // namespace corio::detail
