// SPDX-License-Identifier: MIT
// corio/detail/intrusive_hlist.hpp: a list whose head is one pointer and whose nodes still
// unlink themselves in constant time: each node points at the pointer that points at it
// (Linux's hlist).
// Layer L0. A task's done listeners use it: every task carries the head, so its bytes count.
#pragma once

namespace corio::detail {

class hlist_hook {
public:
    hlist_hook() noexcept = default;
    hlist_hook(const hlist_hook&) = delete;
    hlist_hook& operator=(const hlist_hook&) = delete;
    ~hlist_hook() { unlink(); }

    [[nodiscard]] bool linked() const noexcept { return pprev_ != nullptr; }

    void unlink() noexcept {
        if (pprev_) {
            *pprev_ = next_;
            if (next_)
                next_->pprev_ = pprev_;
            next_ = nullptr;
            pprev_ = nullptr;
        }
    }

private:
    template <class T>
    friend class intrusive_hlist;

    hlist_hook* next_ = nullptr;
    hlist_hook** pprev_ = nullptr; // the head's pointer or the previous node's next_
};

/// A list of `T`s, each of which derives from hlist_hook. The list never owns its nodes and
/// must not move while it holds any.
template <class T>
class intrusive_hlist {
public:
    intrusive_hlist() noexcept = default;
    intrusive_hlist(const intrusive_hlist&) = delete;
    intrusive_hlist& operator=(const intrusive_hlist&) = delete;
    ~intrusive_hlist() {
        while (first_)
            first_->unlink();
    }

    [[nodiscard]] bool empty() const noexcept { return first_ == nullptr; }

    void push_front(T& node) noexcept {
        hlist_hook& hook = node;
        hook.unlink();
        hook.next_ = first_;
        if (first_)
            first_->pprev_ = &hook.next_;
        first_ = &hook;
        hook.pprev_ = &first_;
    }

    /// Unlinks and returns the first node, or nullptr when the list is empty.
    T* pop_front() noexcept {
        hlist_hook* first = first_;
        if (!first)
            return nullptr;
        first->unlink();
        return static_cast<T*>(first);
    }

    /// Turns the order around: a list built with push_front, newest first, then gives its
    /// nodes back oldest first.
    void reverse() noexcept {
        hlist_hook* node = first_;
        first_ = nullptr;
        while (node) {
            hlist_hook* next = node->next_;
            node->pprev_ = nullptr; // already out of the list: push_front must not unlink it
            push_front(static_cast<T&>(*node));
            node = next;
        }
    }

private:
    hlist_hook* first_ = nullptr;
};

} // namespace corio::detail
