// SPDX-License-Identifier: MIT
// corio/detail/intrusive_list.hpp: a doubly linked list whose nodes live in their owners.
// Layer L0. Waiter queues and the task registry use it: linking never allocates, and a node
// unlinks itself when destroyed, so an owner that dies early leaves nothing dangling.
#pragma once

namespace corio::detail {

class list_hook {
public:
    list_hook() noexcept = default;
    list_hook(const list_hook&) = delete;
    list_hook& operator=(const list_hook&) = delete;
    ~list_hook() { unlink(); }

    [[nodiscard]] bool linked() const noexcept { return next_ != nullptr; }

    void unlink() noexcept {
        if (next_) {
            prev_->next_ = next_;
            next_->prev_ = prev_;
            prev_ = next_ = nullptr;
        }
    }

private:
    template <class T>
    friend class intrusive_list;

    list_hook* prev_ = nullptr;
    list_hook* next_ = nullptr;
};

/// A list of `T`s, each of which derives from list_hook. The list never owns its nodes.
template <class T>
class intrusive_list {
public:
    intrusive_list() noexcept { head_.prev_ = head_.next_ = &head_; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;
    ~intrusive_list() {
        while (!empty())
            head_.next_->unlink();
        head_.prev_ = head_.next_ = nullptr;
    }

    [[nodiscard]] bool empty() const noexcept { return head_.next_ == &head_; }

    void push_back(T& node) noexcept {
        list_hook& hook = node;
        hook.unlink();
        hook.prev_ = head_.prev_;
        hook.next_ = &head_;
        head_.prev_->next_ = &hook;
        head_.prev_ = &hook;
    }

    /// Unlinks and returns the first node, or nullptr when the list is empty.
    T* pop_front() noexcept {
        if (empty())
            return nullptr;
        list_hook* first = head_.next_;
        first->unlink();
        return static_cast<T*>(first);
    }

    /// Calls `f(T&)` on every node in order. `f` may unlink the node it is given.
    template <class F>
    void for_each(F&& f) {
        for (list_hook* h = head_.next_; h != &head_;) {
            list_hook* next = h->next_;
            f(static_cast<T&>(*h));
            h = next;
        }
    }

    template <class F>
    void for_each(F&& f) const {
        for (const list_hook* h = head_.next_; h != &head_; h = h->next_)
            f(static_cast<const T&>(*h));
    }

private:
    list_hook head_;
};

} // namespace corio::detail
