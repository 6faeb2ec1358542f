// SPDX-License-Identifier: MIT
// Tutorial 6, TaskGroup: requests run as children of a task_group; the scope ends when all of
// them have. The tutorial's part prints the two results; then, beyond the tutorial, one request
// fails, the other is cancelled and the scope throws an exception_group.
#include <corio/corio.hpp>

#include <chrono>
#include <exception>
#include <fmt/core.h>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

corio::task<std::string> fake_request(std::string url, bool fail = false) {
    co_await corio::sleep(1s);
    if (fail)
        throw std::runtime_error("request to " + url + " failed");
    co_return url + " result";
}

corio::task<std::string> slow_request(std::string url) {
    try {
        co_return co_await fake_request(url);
    } catch (const corio::cancelled_error&) {
        fmt::print("{} was cancelled\n", url);
        throw;
    }
}

corio::task<> main_task() {
    auto start = corio::clock::now();
    corio::task_handle<std::string> a, b;
    co_await corio::with(corio::task_group{}, [&](corio::task_group& tg) -> corio::task<> {
        a = tg.spawn(fake_request("https://a.com"));
        b = tg.spawn(fake_request("https://b.com"));
        co_return;
    });
    fmt::print("{}\n{}\n", a.result(), b.result());
    std::chrono::duration<double> elapsed = corio::clock::now() - start;
    fmt::print("both in {:.2f} s\n", elapsed.count());

    try {
        co_await corio::with(corio::task_group{}, [](corio::task_group& tg) -> corio::task<> {
            tg.spawn(fake_request("https://a.com", true));
            tg.spawn(slow_request("https://slow.com"));
            co_return;
        });
    } catch (const corio::exception_group& group) {
        fmt::print("{}\n", group.what());
        for (const std::exception_ptr& e : group.exceptions()) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& failure) {
                fmt::print("  {}\n", failure.what());
            }
        }
    }
}

int main() {
    corio::run(main_task());
}
