// SPDX-License-Identifier: MIT
// resolve: numeric hosts without a lookup, names from /etc/hosts, failures in
// resolver_category, cancellation. No DNS query leaves the machine: the names either come
// from /etc/hosts or are malformed, which the resolver refuses before asking anyone.
#include <algorithm>
#include <netdb.h>
#include <string>
#include <system_error>
#include <vector>

#include "corio_test.hpp"

using namespace corio_test;

TEST_CASE("resolve returns a numeric address as it is, without a lookup", "[resolve]") {
    auto body = []() -> corio::task<> {
        auto v4 = co_await corio::resolve("127.0.0.1", 8080);
        REQUIRE(v4.size() == 1);
        CHECK(v4[0] == corio::endpoint("127.0.0.1", 8080));
        auto v6 = co_await corio::resolve("::1", 53);
        REQUIRE(v6.size() == 1);
        CHECK(v6[0].to_string() == "[::1]:53");
    };
    corio::run(body());
}

TEST_CASE("resolve finds localhost through the hosts file, with the port, once per address",
          "[resolve]") {
    auto body = []() -> corio::task<> {
        std::vector<corio::endpoint> found = co_await corio::resolve("localhost", 4242);
        REQUIRE_FALSE(found.empty());
        CHECK(std::count(found.begin(), found.end(), corio::endpoint("127.0.0.1", 4242)) == 1);
        for (const corio::endpoint& e : found) {
            CHECK(e.port() == 4242);
            CHECK((e.family() == AF_INET || e.family() == AF_INET6));
        }
    };
    corio::run(body());
}

TEST_CASE("a name that does not resolve throws system_error in resolver_category, naming it",
          "[resolve]") {
    auto body = []() -> corio::task<> {
        try {
            co_await corio::resolve("no..such..host", 80); // malformed: never sent to a server
            FAIL("a malformed name resolved");
        } catch (const std::system_error& e) {
            CHECK(e.code().category() == corio::resolver_category());
            CHECK(e.code().value() == EAI_NONAME);
            CHECK_THAT(e.what(), Catch::Contains("'no..such..host'"));
            CHECK_THAT(e.what(), Catch::Contains(::gai_strerror(EAI_NONAME)));
        }
        CHECK(std::string(corio::resolver_category().name()) == "resolver");
    };
    corio::run(body());
}

corio::task<std::size_t> count_addresses(std::string host) {
    co_return (co_await corio::resolve(host, 1)).size();
}

TEST_CASE("a cancelled lookup ends cancelled; the view passed in may go at once", "[resolve]") {
    auto body = []() -> corio::task<> {
        std::string name = "localhost";
        auto lookup = corio::spawn(corio::resolve(name, 80));
        name = "overwritten"; // resolve copied the host before its first suspension
        CHECK_FALSE((co_await lookup).empty());

        auto h = corio::spawn(count_addresses("localhost"));
        co_await corio::sleep(0s); // h runs up to its lookup, which a pool thread now does
        REQUIRE_FALSE(h.done());
        h.cancel(); // in the same iteration: the answer cannot be back yet
        CHECK(co_await ended_cancelled(h));
    };
    corio::run(body());
}
