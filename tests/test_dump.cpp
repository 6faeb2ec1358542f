// SPDX-License-Identifier: MIT
// dump_tasks: every live task, its state, and the chain it is suspended in.
#include <regex>
#include <sstream>
#include <string>

#include "corio_test.hpp"

using namespace corio_test;

namespace {

// The dump names these functions and the lines they are on (see first_line_of).
constexpr int leaf_line = __LINE__ + 1;
corio::task<> leaf() {
    co_await corio::sleep(1h);
}

constexpr int middle_line = __LINE__ + 1;
corio::task<> middle() {
    co_await leaf();
}

constexpr int outer_line = __LINE__ + 1;
corio::task<> outer() {
    co_await middle();
}

corio::task<int> quick() {
    co_return 1;
}

constexpr int yielding_line = __LINE__ + 1;
corio::task<> yielding() {
    co_await corio::sleep(0s);
}

constexpr int settled_line = __LINE__ + 1;
corio::task<> settled() {
    co_await quick();    // finishes inline
    co_await yielding(); // suspends, then finishes
    co_await corio::sleep(1h);
}
constexpr int settled_last_line = __LINE__ - 1;

constexpr int await_handle_line = __LINE__ + 1;
corio::task<> await_handle(corio::task_handle<> h) {
    co_await h;
}

int first_line_of(const std::string& function) {
    if (function == "leaf")
        return leaf_line;
    if (function == "middle")
        return middle_line;
    if (function == "outer")
        return outer_line;
    if (function == "await_handle")
        return await_handle_line;
    if (function == "yielding")
        return yielding_line;
    if (function == "settled")
        return settled_line;
    FAIL("unexpected function " << function);
    return 0;
}

// Its closing brace: the others have one line between.
int last_line_of(const std::string& function) {
    return function == "settled" ? settled_last_line : first_line_of(function) + 2;
}

// The dump with what depends on the compiler and the clock replaced: the line a compiler
// gives a coroutine function (g++ its closing brace) becomes "L" once checked to lie within
// the function, and the seconds left of a sleep become "S" once
// checked to be under an hour.
std::string normalized(const std::string& dump) {
    static const std::regex line_number(":([0-9]+)\\)");
    static const std::regex seconds_left("due in ([0-9.]+) s");
    std::string out;
    std::istringstream in(dump);
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, line_number)) {
            const int n = std::stoi(m[1]);
            const std::string function = line.substr(4, line.find(' ', 4) - 4);
            INFO(line);
            CHECK(n >= first_line_of(function));
            CHECK(n <= last_line_of(function));
            line = std::regex_replace(line, line_number, ":L)");
        }
        if (std::regex_search(line, m, seconds_left)) {
            double s = std::stod(m[1]);
            CHECK(s > 3590.0);
            CHECK(s <= 3600.0);
            line = std::regex_replace(line, seconds_left, "due in S s");
        }
        out += line + "\n";
    }
    return out;
}

// The dump's line for a coroutine of this file, as normalized() leaves it.
std::string frame_line(const std::string& function) {
    return "    " + function + " (" + __FILE__ + ":L)\n";
}

// The running loop's dump, normalized.
std::string dump_now() {
    std::ostringstream dump;
    corio::dump_tasks(dump);
    return normalized(dump.str());
}

} // namespace

TEST_CASE("dump_tasks prints each task's chain down to the leaf", "[dump]") {
    auto body = []() -> corio::task<> {
        corio::current_task().set_name("main");
        auto worker = corio::spawn(outer(), "worker");
        auto waiter = corio::spawn(await_handle(worker), "waiter");
        auto idle = corio::spawn(leaf(), "idle");
        co_await corio::sleep(0s); // every task above runs to its first suspension
        auto fresh = corio::spawn(leaf(), "fresh");
        idle.cancel();
        CHECK(dump_now() == "<task 'main' running>\n"
                            "<task 'worker' suspended>\n" +
                                frame_line("outer") + frame_line("middle") + frame_line("leaf") +
                                "    sleep, due in S s\n"
                                "<task 'waiter' suspended>\n" +
                                frame_line("await_handle") +
                                "    awaiting task 'worker'\n"
                                "<task 'idle' suspended, cancelling 1>\n" +
                                frame_line("leaf") +
                                "    sleep, due in S s\n"
                                "<task 'fresh' not started>\n");
        worker.cancel();
    };
    corio::run(body());
}

TEST_CASE("the chain holds the inline tasks a task is suspended in, and no finished one",
          "[dump]") {
    auto body = []() -> corio::task<> {
        corio::current_task().set_name("main");
        auto t = corio::spawn(settled(), "settled");
        co_await corio::sleep(0s); // settled suspends in yielding
        CHECK(dump_now() == "<task 'main' running>\n"
                            "<task 'settled' suspended>\n" +
                                frame_line("settled") + frame_line("yielding") +
                                "    sleep(0), yielding once\n");
        co_await corio::sleep(0s); // yielding finishes; settled sleeps itself
        CHECK(dump_now() == "<task 'main' running>\n"
                            "<task 'settled' suspended>\n" +
                                frame_line("settled") + "    sleep, due in S s\n");
        t.cancel();
    };
    corio::run(body());
}

TEST_CASE("dump_tasks outside a running loop throws no_running_loop", "[dump]") {
    std::ostringstream dump;
    CHECK_THROWS_AS(corio::dump_tasks(dump), corio::no_running_loop);
}

TEST_CASE("the dump names a coroutine function by its bare name, whatever the compiler prints",
          "[dump]") {
    using corio::detail::bare_function_name;
    CHECK(bare_function_name("corio::task<> {anonymous}::outer()") == "outer");
    CHECK(bare_function_name("corio::task<> (anonymous namespace)::outer()") == "outer");
    CHECK(bare_function_name("corio::task<void> S<T>::run() const [with T = int]") == "run");
    CHECK(bare_function_name("corio::task<void> S<int>::run() const [T = int]") == "run");
    CHECK(bare_function_name("corio::task<std::pair<int, int> > ns::pairs(std::vector<int>) "
                             "[with T = std::basic_string<char>]") == "pairs");
    CHECK(bare_function_name("auto S<long>::operator()(int) [T = long]") == "operator()");
    CHECK(bare_function_name("main()::<lambda(int)>") == "<lambda(int)>");
    CHECK(bare_function_name("auto main()::(anonymous class)::operator()(int) const") ==
          "operator()");
    CHECK(bare_function_name("outer") == "outer");
    CHECK(bare_function_name("") == "");
}
