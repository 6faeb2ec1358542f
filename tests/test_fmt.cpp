// SPDX-License-Identifier: MIT
// <corio/fmt.hpp>: how tasks, handles and errors print.
#include <corio/fmt.hpp>

#include <fmt/format.h>
#include <regex>
#include <stdexcept>
#include <string>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

corio::task<int> seven() {
    co_return 7;
}

} // namespace

TEST_CASE("a task prints as Python prints a coroutine object", "[fmt]") {
    auto t = seven();
    CHECK(std::regex_match(fmt::format("{}", t),
                           std::regex("<corio::task at 0x[0-9a-f]+: not started>")));
    corio::task<int> empty;
    CHECK(fmt::format("{}", empty) == "<corio::task at 0x0: empty>");
}

TEST_CASE("a handle prints its name and state", "[fmt]") {
    auto body = []() -> corio::task<> {
        auto h = corio::spawn(seven(), "seven");
        CHECK(fmt::format("{}", h) == "<task 'seven' pending>");
        co_await h;
        CHECK(fmt::format("{}", h) == "<task 'seven' done>");
        auto c = corio::spawn(seven(), "gone");
        c.cancel();
        co_await corio::sleep(0s);
        CHECK(fmt::format("{}", c) == "<task 'gone' cancelled>");
        CHECK(fmt::format("{}", corio::task_handle<>{}) == "<task empty>");
    };
    corio::run(body());
}

TEST_CASE("errors print with their corio name", "[fmt]") {
    CHECK(fmt::format("{}", corio::timeout_error()) == "timeout_error: corio: operation timed out");
    CHECK(fmt::format("{}", corio::invalid_state_error("bad state")) ==
          "invalid_state_error: bad state");
    CHECK(fmt::format("{}", corio::queue_empty()) == "queue_empty: corio: queue is empty");
    CHECK(fmt::format("{}", corio::cancelled_error()) == "cancelled_error");
    CHECK(fmt::format("{}", corio::cancelled_error("shutdown")) == "cancelled_error: shutdown");
    CHECK(fmt::format("{}", corio::keyboard_interrupt()) == "keyboard_interrupt");
    corio::exception_group group("2 tasks failed",
                                 {std::make_exception_ptr(std::runtime_error("a")),
                                  std::make_exception_ptr(std::runtime_error("b"))});
    CHECK(fmt::format("{}", group) == "exception_group: 2 tasks failed (2 sub-exceptions)");
}
