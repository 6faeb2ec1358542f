// SPDX-License-Identifier: MIT
// corio/detail/io_awaiter.hpp: io_awaiter, the one awaiter every I/O operation runs on, and
// io_operation, what an operation describes about itself.
// Layer L4.
#pragma once

#include <corio/errors.hpp>

#include <corio/detail/backend/io_op.hpp>
#include <corio/detail/loop_core.hpp>
#include <corio/detail/loop_waiter.hpp>

#include <cerrno>
#include <climits>
#include <concepts>
#include <coroutine>
#include <ostream>
#include <system_error>
#include <utility>

namespace corio::detail {

/// An operation as a small descriptor: its fd and the readiness it needs, perform() (the
/// non-blocking system call, -errno on failure, -EAGAIN to wait for readiness), prepare()
/// (the same as an io_uring submission), finish() (the result as a value, or a
/// std::system_error), and describe() for dump_tasks. `readiness_wait` is true for a wait
/// on readiness alone, which has no system call to try first. Optional: discard(result),
/// for a result that owns something (accept's fd) and was never finished; partial(result),
/// for a completion that leaves work to do (a short send): it takes the result in and says
/// whether the operation must be submitted again; may_be_ready(), false when the system call
/// would surely block, so the operation waits without trying it; progress(result), for each
/// result of a multishot submission but its last (which comes to finish).
// clang-format 14 mangles `{ expr } noexcept -> concept` requirements.
// clang-format off
template <class D>
concept io_operation = requires(D& d, const D& c, int result, std::ostream& out) {
    { c.fd() } noexcept -> std::same_as<int>;
    { c.direction() } noexcept -> std::same_as<io_direction>;
    { d.perform() } noexcept -> std::same_as<int>;
#ifdef CORIO_HAS_IO_URING
    { d.prepare(std::declval<io_uring_sqe&>()) } noexcept;
#endif
    d.finish(result);
    c.describe(out);
    { D::readiness_wait } -> std::convertible_to<bool>;
};
// clang-format on

/// Runs one operation through the cancellation protocol, on whichever backend the loop has.
/// On a readiness backend the system call is tried in await_ready, so an operation that can
/// complete at once never suspends the task (asyncio's sock_recv does the same); otherwise
/// the operation is submitted and the task resumes on its completion. A cancel the backend
/// cannot stop at once (pending) resumes the task on the operation's own completion: a
/// result that won the race is returned, and the cancel comes at the next suspension.
template <io_operation Operation>
class io_awaiter final : public loop_waiter, public io_op {
public:
    io_awaiter(loop_core& loop, Operation operation) noexcept
        : loop_waiter(loop),
          io_op(operation.fd(), operation.direction(), Operation::readiness_wait), core_(&loop),
          operation_(std::move(operation)) {}
    /// Only before it is awaited: gather and wait_for move awaitables into tasks of their own.
    io_awaiter(io_awaiter&& other) noexcept
        : loop_waiter(std::move(other)),
          io_op(other.fd(), other.direction(), Operation::readiness_wait), core_(other.core_),
          operation_(std::move(other.operation_)) {}
    ~io_awaiter() {
        if (io_op::linked()) // a closing loop destroys the frame: the backend lets go first
            core_->backend().cancel(*this);
        if constexpr (requires { operation_.discard(result_); })
            if (result_ >= 0) // completed, and never handed to the task
                operation_.discard(result_);
    }

    bool await_ready() noexcept {
        if constexpr (!Operation::readiness_wait)
            if (core_->backend().tries_first()) {
                if constexpr (requires { operation_.may_be_ready(); })
                    if (!operation_.may_be_ready())
                        return false;
                result_ = operation_.perform();
                return result_ != -EAGAIN;
            }
        return false;
    }

    void await_suspend(std::coroutine_handle<> frame) {
        bind(frame);
        result_ = no_result;
        cancel_pending_ = false;
        aborted_ = false;
        core_->backend().submit(*this); // throws for a bad fd, before the task waits
        wait();
    }

    decltype(auto) await_resume() {
        resumed();
        if (cancel_pending_) { // the backend's cancel could not stop it at once
            if (result_ == -ECANCELED)
                throw cancelled_error(owner().cancel_message());
            cancel_at_next_suspension(); // the operation completed first: that is kept
        }
        return operation_.finish(std::exchange(result_, no_result));
    }

    /// Ends the operation from outside its task (the stream it works on is closing): the
    /// task resumes with -ECANCELED, or with the result that won the race, once the backend
    /// has let go of the operation's buffers. Nothing happens unless it is in flight.
    void abort() noexcept {
        if (!io_op::linked())
            return;
        aborted_ = true;
        if (core_->backend().cancel(*this) == cancel_answer::stopped)
            complete(-ECANCELED);
    }

    [[nodiscard]] const Operation& operation() const noexcept { return operation_; }

    int perform() noexcept override { return operation_.perform(); }

#ifdef CORIO_HAS_IO_URING
    void prepare(io_uring_sqe& sqe) noexcept override {
        operation_.prepare(sqe);
    }

    // Only an operation that submits a multishot has results before its last.
    void progress(int result) noexcept override {
        if constexpr (requires { operation_.progress(result); })
            operation_.progress(result);
    }
#endif

    void complete(int result) noexcept override {
        if constexpr (requires { operation_.partial(result); })
            if (operation_.partial(result) && submit_rest(result))
                return;
        result_ = result;
        resume_later();
    }

    void describe(std::ostream& out) const override {
        operation_.describe(out);
    }

private:
    static constexpr int no_result = INT_MIN;

    // The rest of a partly done operation, unless its task was cancelled or the operation
    // aborted meanwhile: then it ends cancelled (part of it happened, as with a cancel that
    // stops it between two sends).
    bool submit_rest(int& result) noexcept {
        if (cancel_pending_ || aborted_) {
            result = -ECANCELED;
            return false;
        }
        try {
            core_->backend().submit(*this);
            return true;
        } catch (const std::system_error& e) {
            result = -e.code().value();
            return false;
        }
    }

    cancel_answer stop() noexcept override {
        if (resume_queued())
            return cancel_answer::too_late; // completed: the result is kept
        const cancel_answer answer = core_->backend().cancel(*this);
        cancel_pending_ = answer == cancel_answer::pending;
        return answer;
    }

    loop_core* core_;
    int result_ = no_result;
    bool cancel_pending_ = false;
    bool aborted_ = false;
    Operation operation_;
};

} // namespace corio::detail
