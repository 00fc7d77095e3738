// What a client may claim: forwarding fields are believed only from trusted_proxies, and the
// cache bypass needs cache.bypass_token when one is set. Real proxy, real upstream stub that
// records what it received.
#include "integration/harness.hpp"

#include <gtest/gtest.h>

namespace cachecar::test {
namespace {

const std::string kRules =
    "  - match: \"GET /cached/{id}\"\n"
    "    ttl: 60s\n";

const Headers kForged = {{"X-Forwarded-For", "10.9.9.9"},
                         {"X-Forwarded-Proto", "javascript"},
                         {"X-Forwarded-Host", "evil.example"},
                         {"Forwarded", "for=10.9.9.9;proto=javascript;host=evil.example"}};

HarnessOptions with_trusted(std::string list) {
  return HarnessOptions{
      .rules = kRules, .extra = "trusted_proxies: " + std::move(list) + "\n", .memory_store = true};
}

// An origin that builds links from the forwarding fields, as frameworks do.
void reflect_forwarding_fields(UpstreamStub& upstream, const std::string& path) {
  upstream.on(path, [](const SeenRequest& seen, std::size_t) {
    return StubReply{.body = "{\"proto\": \"" + seen.header("X-Forwarded-Proto") +
                             "\", \"host\": \"" + seen.header("X-Forwarded-Host") + "\"}"};
  });
}

TEST(ForwardingTrust, AnUntrustedClientCannotSetForwardingFields) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  h.get("/other/1", kForged);
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.header("X-Forwarded-Host"), "");
  EXPECT_EQ(seen.header("Forwarded"), "");
  EXPECT_EQ(seen.header("Host"), "test.local");
}

TEST(ForwardingTrust, AForgedProtoDoesNotReachACachedBody) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  reflect_forwarding_fields(h.upstream, "/cached/1");
  const auto planted = h.get("/cached/1", kForged);
  EXPECT_EQ(planted.header("X-Cache"), "MISS");
  const auto victim = h.get("/cached/1");
  EXPECT_EQ(victim.header("X-Cache"), "HIT");
  EXPECT_EQ(victim.body, "{\"proto\": \"http\", \"host\": \"\"}");
}

TEST(ForwardingTrust, ATrustedPeerKeepsThemAndIsAppendedToXForwardedFor) {
  Harness h{with_trusted("[\"10.0.0.0/8\", \"127.0.0.0/8\"]")};
  h.get("/other/1", kForged);
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("X-Forwarded-For"), "10.9.9.9, 127.0.0.1");
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "javascript");
  EXPECT_EQ(seen.header("X-Forwarded-Host"), "evil.example");
  EXPECT_EQ(seen.header("Forwarded"), "for=10.9.9.9;proto=javascript;host=evil.example");
}

TEST(ForwardingTrust, ATrustedPeerWithoutForwardingFieldsGetsOurs) {
  Harness h{with_trusted("[\"127.0.0.1\"]")};
  h.get("/other/1");
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
}

TEST(ForwardingTrust, APeerOutsideTheListIsUntrusted) {
  // ::1 is loopback too, but not the address this client connects from.
  Harness h{with_trusted("[\"10.0.0.0/8\", \"::1\"]")};
  h.get("/other/1", kForged);
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.header("X-Forwarded-For"), "127.0.0.1");
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.header("X-Forwarded-Host"), "");
}

TEST(ForwardingTrust, TrustHoldsForEveryRequestOnAConnection) {
  Harness h{with_trusted("[\"127.0.0.0/8\"]")};
  HttpClient client(h.port());
  for (int i = 0; i < 3; ++i) {
    client.get("/other/" + std::to_string(i), kForged);
    EXPECT_EQ(h.upstream.last().header("X-Forwarded-Host"), "evil.example") << i;
  }
}

// --- cache.bypass_token ---

HarnessOptions with_bypass_token() {
  return HarnessOptions{.rules = kRules, .cache = "  bypass_token: s3cret\n", .memory_store = true};
}

void count_versions(UpstreamStub& upstream, const std::string& path) {
  upstream.on(path, [](const SeenRequest&, std::size_t n) {
    return StubReply{.body = "{\"version\": " + std::to_string(n) + "}"};
  });
}

TEST(BypassToken, WithoutTheTokenTheBypassParamIsIgnored) {
  Harness h{with_bypass_token()};
  count_versions(h.upstream, "/cached/1");
  EXPECT_EQ(h.get("/cached/1").header("X-Cache"), "MISS");
  for (const Headers& headers :
       {Headers{}, Headers{{"X-Cachecar-Bypass", "wrong"}}, Headers{{"X-Cachecar-Bypass", ""}},
        Headers{{"X-Cachecar-Bypass", "s3cret2"}}}) {
    const auto response = h.get("/cached/1?nocache=true", headers);
    EXPECT_EQ(response.header("X-Cache"), "HIT");
    EXPECT_EQ(response.body, "{\"version\": 1}");
  }
  EXPECT_EQ(h.upstream.requests("/cached/1"), 1u);
}

TEST(BypassToken, AnIgnoredBypassParamIsNotForwardedAndTheResponseIsStored) {
  Harness h{with_bypass_token()};
  const auto miss = h.get("/cached/2?nocache=1&a=b");
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  EXPECT_EQ(h.upstream.last().target, "/cached/2?a=b");
  EXPECT_EQ(h.get("/cached/2?a=b").header("X-Cache"), "HIT");
}

TEST(BypassToken, WithTheTokenTheBypassRefreshesAndTheTokenIsNotForwarded) {
  Harness h{with_bypass_token()};
  count_versions(h.upstream, "/cached/3");
  EXPECT_EQ(h.get("/cached/3").body, "{\"version\": 1}");
  const auto bypass = h.get("/cached/3?nocache=true", {{"X-Cachecar-Bypass", "s3cret"}});
  EXPECT_EQ(bypass.header("X-Cache"), "BYPASS");
  EXPECT_EQ(bypass.body, "{\"version\": 2}");
  const auto seen = h.upstream.last();
  EXPECT_EQ(seen.target, "/cached/3");
  EXPECT_EQ(seen.header("X-Cachecar-Bypass"), "");
  const auto refreshed = h.get("/cached/3");
  EXPECT_EQ(refreshed.header("X-Cache"), "HIT");
  EXPECT_EQ(refreshed.body, "{\"version\": 2}");
}

TEST(BypassToken, TheTokenFieldIsNeverForwardedWhateverTheRoute) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  h.get("/other/1", {{"X-Cachecar-Bypass", "anything"}});
  EXPECT_EQ(h.upstream.last().header("X-Cachecar-Bypass"), "");
  h.get("/cached/4?nocache=1", {{"X-Cachecar-Bypass", "anything"}});
  EXPECT_EQ(h.upstream.last().header("X-Cachecar-Bypass"), "");
}

TEST(BypassToken, WithoutAConfiguredTokenAnyClientMayBypass) {
  Harness h{HarnessOptions{.rules = kRules, .memory_store = true}};
  h.get("/cached/5");
  EXPECT_EQ(h.get("/cached/5?nocache=true").header("X-Cache"), "BYPASS");
}

}  // namespace
}  // namespace cachecar::test
