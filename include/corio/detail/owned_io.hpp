// SPDX-License-Identifier: MIT
// corio/detail/owned_io.hpp: owned_io, an operation on a socket that an object owns (a
// stream, a UDP socket), listed in that object while it is in flight so that closing the
// object can end it.
// Layer L4.
#pragma once

#include <corio/detail/intrusive_list.hpp>
#include <corio/detail/io_awaiter.hpp>
#include <corio/detail/loop_core.hpp>

#include <coroutine>
#include <utility>

namespace corio::detail {

class owned_io_base : public list_hook {
public:
    /// Ends the operation from outside its task: see io_awaiter::abort.
    virtual void abort() noexcept = 0;

protected:
    ~owned_io_base() = default;
};

/// The operations in flight on one object's socket.
class owned_io_list {
public:
    /// Ends every one of them; their tasks resume with -ECANCELED (or the result that won).
    void abort_all() noexcept {
        ops_.for_each([](owned_io_base& op) { op.abort(); });
    }

private:
    template <class>
    friend class owned_io;

    intrusive_list<owned_io_base> ops_;
};

/// io_awaiter<Operation>, listed in its owner's owned_io_list while the task waits on it.
template <class Operation>
class owned_io final : public owned_io_base {
public:
    owned_io(Operation operation, owned_io_list& owner)
        : awaiter_(running_core(), std::move(operation)), owner_(&owner) {}

    bool await_ready() noexcept { return awaiter_.await_ready(); }
    void await_suspend(std::coroutine_handle<> frame) {
        awaiter_.await_suspend(frame);
        owner_->ops_.push_back(*this);
    }
    decltype(auto) await_resume() {
        unlink();
        return awaiter_.await_resume();
    }

    void abort() noexcept override { awaiter_.abort(); }

    [[nodiscard]] const Operation& operation() const noexcept { return awaiter_.operation(); }

private:
    io_awaiter<Operation> awaiter_;
    owned_io_list* owner_;
};

} // namespace corio::detail
