// The request head sent upstream: which forwarding fields survive from which peer, and the
// bypass token field.
#include "upstream/forwarding.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cachecar::upstream {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

http::request_header<> request_with(const Fields& fields) {
  http::request_header<> request;
  request.method(http::verb::get);
  request.target("/a");
  request.version(11);
  request.insert("Host", "api.example");
  for (const auto& [name, value] : fields) request.insert(name, value);
  return request;
}

std::string render(const Fields& fields, bool trusted_peer) {
  UpstreamRequestHead head;
  head.method = "GET";
  head.target = "/a";
  head.client_ip = "192.0.2.10";
  head.default_host = "origin:80";
  head.trusted_peer = trusted_peer;
  return render_upstream_request(request_with(fields), head);
}

// The values of every line named `name` (case-insensitive), in order.
std::vector<std::string> values(const std::string& head, std::string_view name) {
  std::vector<std::string> out;
  std::size_t pos = head.find("\r\n") + 2;  // past the request line
  while (pos < head.size()) {
    const auto end = head.find("\r\n", pos);
    const std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string field = line.substr(0, colon);
    for (auto& c : field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string wanted(name);
    for (auto& c : wanted) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (field == wanted) out.push_back(line.substr(colon + 2));
  }
  return out;
}

const Fields kForged = {{"X-Forwarded-For", "10.9.9.9"},
                        {"X-Forwarded-Proto", "javascript"},
                        {"X-Forwarded-Host", "evil.example"},
                        {"Forwarded", "for=10.9.9.9;proto=https;host=evil.example"},
                        {"X-Custom", "kept"}};

TEST(RenderUpstreamRequest, FromAnUntrustedPeerForwardingFieldsAreOurs) {
  const auto head = render(kForged, /*trusted_peer=*/false);
  EXPECT_EQ(values(head, "X-Forwarded-For"), std::vector<std::string>{"192.0.2.10"});
  EXPECT_EQ(values(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"});
  EXPECT_TRUE(values(head, "X-Forwarded-Host").empty());
  EXPECT_TRUE(values(head, "Forwarded").empty());
  EXPECT_EQ(values(head, "X-Custom"), std::vector<std::string>{"kept"});
  EXPECT_EQ(values(head, "Host"), std::vector<std::string>{"api.example"});
}

TEST(RenderUpstreamRequest, FromATrustedPeerTheyAreKeptAndThePeerAppended) {
  const auto head = render(kForged, /*trusted_peer=*/true);
  EXPECT_EQ(values(head, "X-Forwarded-For"), std::vector<std::string>{"10.9.9.9, 192.0.2.10"});
  EXPECT_EQ(values(head, "X-Forwarded-Proto"), std::vector<std::string>{"javascript"});
  EXPECT_EQ(values(head, "X-Forwarded-Host"), std::vector<std::string>{"evil.example"});
  EXPECT_EQ(values(head, "Forwarded"),
            std::vector<std::string>{"for=10.9.9.9;proto=https;host=evil.example"});
}

TEST(RenderUpstreamRequest, SeveralXForwardedForLinesFromATrustedPeerBecomeOneList) {
  const auto head =
      render({{"X-Forwarded-For", "10.0.0.1"}, {"x-forwarded-for", "10.0.0.2, 10.0.0.3"}}, true);
  EXPECT_EQ(values(head, "X-Forwarded-For"),
            std::vector<std::string>{"10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.10"});
  EXPECT_EQ(values(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"});
}

TEST(RenderUpstreamRequest, ForwardingFieldNamesAreMatchedCaseInsensitively) {
  const auto head = render({{"x-forwarded-proto", "javascript"},
                            {"X-FORWARDED-HOST", "evil.example"},
                            {"FORWARDED", "for=1.2.3.4"}},
                           false);
  EXPECT_EQ(values(head, "X-Forwarded-Proto"), std::vector<std::string>{"http"});
  EXPECT_TRUE(values(head, "X-Forwarded-Host").empty());
  EXPECT_TRUE(values(head, "Forwarded").empty());
}

TEST(RenderUpstreamRequest, TheBypassTokenIsNeverForwarded) {
  for (bool trusted : {false, true}) {
    const auto head =
        render({{"X-Cachecar-Bypass", "s3cret"}, {"x-cachecar-bypass", "x"}}, trusted);
    EXPECT_TRUE(values(head, "X-Cachecar-Bypass").empty()) << head;
    EXPECT_EQ(head.find("s3cret"), std::string::npos) << head;
  }
}

TEST(BypassAuthorized, NoTokenConfiguredAllowsEveryBypass) {
  EXPECT_TRUE(bypass_authorized(request_with({}), ""));
  EXPECT_TRUE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "whatever"}}), ""));
}

TEST(BypassAuthorized, WithATokenTheHeaderMustCarryIt) {
  EXPECT_TRUE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "s3cret"}}), "s3cret"));
  EXPECT_TRUE(bypass_authorized(request_with({{"x-cachecar-bypass", "s3cret"}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({{"X-Cachecar-Bypass", ""}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "s3creT"}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "s3cre"}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "s3crets3cret"}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(request_with({{"X-Cachecar-Bypass", "Bearer s3cret"}}), "s3cret"));
}

TEST(BypassAuthorized, TheTokenComesInExactlyOneFieldLine) {
  EXPECT_FALSE(bypass_authorized(
      request_with({{"X-Cachecar-Bypass", "s3cret"}, {"X-Cachecar-Bypass", "other"}}), "s3cret"));
  EXPECT_FALSE(bypass_authorized(
      request_with({{"X-Cachecar-Bypass", "other"}, {"X-Cachecar-Bypass", "s3cret"}}), "s3cret"));
}

}  // namespace
}  // namespace cachecar::upstream
