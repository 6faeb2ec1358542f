// SPDX-License-Identifier: MIT
// corio/detail/thread_pool.hpp: thread_pool, the loop's default executor: worker threads,
// started on demand, that run blocking jobs for to_thread.
// Layer L1. Knows nothing of loops or tasks: a job reports back by itself.
#pragma once

#include <corio/errors.hpp>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <utility>
#include <vector>

namespace corio::detail {

/// Work for a pool thread.
class pool_job {
public:
    virtual ~pool_job() = default;
    /// Runs on a pool thread; must not throw.
    virtual void run() noexcept = 0;
};

/// asyncio's ThreadPoolExecutor: a FIFO of jobs and up to `max_workers` threads, each started
/// only when a job arrives and no thread is idle, so a program that submits nothing starts
/// none. Thread safety: submit from any thread; shutdown from one thread that is not a worker.
class thread_pool {
public:
    explicit thread_pool(std::size_t max_workers)
        : max_workers_(std::max<std::size_t>(1, max_workers)) {
        threads_.reserve(max_workers_); // so that a started thread is always recorded
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    ~thread_pool() { shutdown(); }

    /// asyncio's default: min(32, cores + 4), enough for I/O-bound blocking calls without
    /// letting a busy program start hundreds of threads.
    static std::size_t default_size() noexcept {
        const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
        return std::min<std::size_t>(32, cores + 4);
    }

    /// Queues `job`, starting a thread if none is idle and the pool is not full.
    /// Throws: `invalid_state_error` after shutdown; `std::system_error` when no thread can
    /// be started and the pool has none (with some threads, the job just waits its turn).
    void submit(std::unique_ptr<pool_job> job) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                throw invalid_state_error("corio: the thread pool was shut down");
            queue_.push_back(std::move(job));
            if (queue_.size() > idle_ && threads_.size() < max_workers_)
                start_worker_or_wait();
        }
        job_queued_.notify_one();
    }

    /// Runs the jobs still queued, then joins every thread. Later submits throw.
    void shutdown() noexcept {
        std::vector<std::thread> threads;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            threads.swap(threads_);
        }
        job_queued_.notify_all();
        for (std::thread& t : threads)
            t.join();
    }

    /// Threads started so far.
    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(mutex_);
        return threads_.size();
    }

    [[nodiscard]] std::size_t max_size() const noexcept { return max_workers_; }

private:
    // Called with the lock held, the job already queued.
    void start_worker_or_wait() {
        try {
            threads_.push_back(start_with_signals_blocked([this] { work(); }));
        } catch (...) { // no thread for it: with none at all it would never run
            if (!threads_.empty())
                return;
            queue_.pop_back();
            throw;
        }
    }

    // A pool thread blocks the asynchronous signals, so that SIGINT and the rest go to the
    // program's own threads and a blocking call on a pool thread is not cut short with EINTR.
    // Faults stay deliverable: blocked, they would kill the process past any crash handler.
    template <class F>
    static std::thread start_with_signals_blocked(F body) {
        sigset_t all;
        sigset_t previous;
        sigfillset(&all);
        for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS})
            sigdelset(&all, fault);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        try {
            std::thread t(std::move(body));
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            return t;
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            throw;
        }
    }

    void work() noexcept {
        std::unique_lock lock(mutex_);
        for (;;) {
            ++idle_;
            job_queued_.wait(lock, [this] { return !queue_.empty() || stopping_; });
            --idle_;
            if (queue_.empty())
                return; // stopping, and nothing left to run
            std::unique_ptr<pool_job> job = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            job->run();
            job.reset(); // outside the lock: its destructor is the caller's code
            lock.lock();
        }
    }

    const std::size_t max_workers_;
    mutable std::mutex mutex_;
    std::condition_variable job_queued_;
    std::deque<std::unique_ptr<pool_job>> queue_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

} // namespace corio::detail
