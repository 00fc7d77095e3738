// Message hygiene between client and upstream: the request head sent upstream (which fields
// survive from which peer, framing, conditionals, the bypass token field) and the response
// fields relayed to the client.
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

UpstreamRequestHead plain_head() {
  UpstreamRequestHead head;
  head.method = "GET";
  head.target = "/a?b=1";
  head.client_ip = "192.0.2.10";
  head.default_host = "origin:80";
  return head;
}

TEST(RenderUpstreamRequest, StartsWithTheRequestLineAndEndsWithAnEmptyLine) {
  auto head = plain_head();
  head.method = "POST";
  const auto out = render_upstream_request(request_with({}), head);
  EXPECT_EQ(out.rfind("POST /a?b=1 HTTP/1.1\r\n", 0), 0u) << out;
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
  EXPECT_EQ(out.find("\r\n\r\n"), out.size() - 4);  // one head, no stray empty line
}

// RFC 9110 §7.6.1: hop-by-hop fields, and every field the Connection header names, apply to one
// connection only and are not forwarded.
TEST(RenderUpstreamRequest, DropsHopByHopFieldsAndThoseNamedInConnection) {
  const auto out = render({{"Connection", "keep-alive, X-Secret, x-other"},
                           {"Keep-Alive", "timeout=5"},
                           {"Proxy-Connection", "keep-alive"},
                           {"Proxy-Authorization", "Basic abc"},
                           {"TE", "trailers"},
                           {"Trailer", "X-Checksum"},
                           {"Upgrade", "websocket"},
                           {"X-Secret", "hop"},
                           {"X-Other", "hop"},
                           {"X-Kept", "end-to-end"}},
                          false);
  for (const char* name : {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
                           "TE", "Trailer", "Upgrade", "X-Secret", "X-Other"}) {
    EXPECT_TRUE(values(out, name).empty()) << name << " in\n" << out;
  }
  EXPECT_EQ(values(out, "X-Kept"), std::vector<std::string>{"end-to-end"});
}

// RFC 9110 §5.3: a list field sent as several lines is one list; every Connection line names
// hop-by-hop fields.
TEST(RenderUpstreamRequest, DropsFieldsNamedInAnyConnectionLine) {
  const auto out = render({{"Connection", "keep-alive"},
                           {"Connection", "X-Second"},
                           {"X-Second", "hop"},
                           {"X-Kept", "end-to-end"}},
                          false);
  EXPECT_TRUE(values(out, "X-Second").empty()) << out;
  EXPECT_EQ(values(out, "X-Kept"), std::vector<std::string>{"end-to-end"});
}

TEST(RenderUpstreamRequest, HopByHopNamesMatchCaseInsensitively) {
  const auto out = render({{"connection", "X-SECRET"},
                           {"KEEP-ALIVE", "timeout=5"},
                           {"Upgrade", "h2c"},
                           {"x-secret", "hop"}},
                          true);
  EXPECT_TRUE(values(out, "Keep-Alive").empty()) << out;
  EXPECT_TRUE(values(out, "Upgrade").empty()) << out;
  EXPECT_TRUE(values(out, "X-Secret").empty()) << out;
  EXPECT_TRUE(values(out, "Connection").empty()) << out;
}

// The client's framing describes the client's connection; cachecar frames what it sends.
TEST(RenderUpstreamRequest, FramingFieldsAreReplacedByOurs) {
  const Fields client_framing = {
      {"Content-Length", "999"}, {"Transfer-Encoding", "chunked"}, {"Expect", "100-continue"}};
  auto head = plain_head();

  head.framing = BodyFraming::None;
  auto out = render_upstream_request(request_with(client_framing), head);
  EXPECT_TRUE(values(out, "Content-Length").empty()) << out;
  EXPECT_TRUE(values(out, "Transfer-Encoding").empty()) << out;
  EXPECT_TRUE(values(out, "Expect").empty()) << out;  // cachecar answers 100-continue itself

  head.framing = BodyFraming::ContentLength;
  head.content_length = 42;
  out = render_upstream_request(request_with(client_framing), head);
  EXPECT_EQ(values(out, "Content-Length"), std::vector<std::string>{"42"}) << out;
  EXPECT_TRUE(values(out, "Transfer-Encoding").empty()) << out;

  head.framing = BodyFraming::ContentLength;
  head.content_length = 0;
  out = render_upstream_request(request_with(client_framing), head);
  EXPECT_EQ(values(out, "Content-Length"), std::vector<std::string>{"0"}) << out;

  head.framing = BodyFraming::Chunked;
  out = render_upstream_request(request_with(client_framing), head);
  EXPECT_TRUE(values(out, "Content-Length").empty()) << out;
  EXPECT_EQ(values(out, "Transfer-Encoding"), std::vector<std::string>{"chunked"}) << out;
}

TEST(RenderUpstreamRequest, TheClientsHostIsKeptAndTheDefaultUsedWithoutOne) {
  EXPECT_EQ(values(render({}, false), "Host"), std::vector<std::string>{"api.example"});
  http::request_header<> no_host;
  no_host.method(http::verb::get);
  no_host.target("/a");
  no_host.version(10);
  EXPECT_EQ(values(render_upstream_request(no_host, plain_head()), "Host"),
            std::vector<std::string>{"origin:80"});
}

const Fields kConditionals = {
    {"If-None-Match", "\"v1\""},   {"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"If-Match", "\"v1\""},        {"If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"},
    {"If-Range", "\"v1\""},        {"Range", "bytes=0-9"},
    {"Accept", "application/json"}};

// A cache fill must get the full 200: a 304, 412 or 206 answers this client only.
TEST(RenderUpstreamRequest, ConditionalsAndRangeAreStrippedForCacheFills) {
  auto head = plain_head();
  head.strip_conditionals = true;
  const auto out = render_upstream_request(request_with(kConditionals), head);
  for (const char* name : {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
                           "If-Range", "Range"}) {
    EXPECT_TRUE(values(out, name).empty()) << name << " in\n" << out;
  }
  EXPECT_EQ(values(out, "Accept"), std::vector<std::string>{"application/json"});
}

TEST(RenderUpstreamRequest, ConditionalsAreForwardedWhenNotFilling) {
  const auto out = render_upstream_request(request_with(kConditionals), plain_head());
  for (const auto& [name, value] : kConditionals) {
    EXPECT_EQ(values(out, name), std::vector<std::string>{value}) << name << " in\n" << out;
  }
}

TEST(RenderUpstreamRequest, WithoutAClientAddressTheClientsListIsForwardedAlone) {
  auto head = plain_head();
  head.client_ip = "";
  head.trusted_peer = true;
  EXPECT_EQ(values(render_upstream_request(request_with({{"X-Forwarded-For", "10.0.0.1"}}), head),
                   "X-Forwarded-For"),
            std::vector<std::string>{"10.0.0.1"});
  head.trusted_peer = false;
  EXPECT_TRUE(values(render_upstream_request(request_with({{"X-Forwarded-For", "10.0.0.1"}}), head),
                     "X-Forwarded-For")
                  .empty());
}

std::string relayed(const policy::HeaderList& headers, bool keep_content_length) {
  std::string out;
  append_relayable_fields(out, headers, keep_content_length);
  return out;
}

TEST(AppendRelayableFields, KeepsEndToEndFieldsInOrder) {
  const policy::HeaderList headers = {{"Content-Type", "application/json"},
                                      {"ETag", "\"v1\""},
                                      {"Set-Cookie", "a=1"},
                                      {"Set-Cookie", "b=2"}};
  EXPECT_EQ(relayed(headers, false),
            "Content-Type: application/json\r\nETag: \"v1\"\r\nSet-Cookie: a=1\r\n"
            "Set-Cookie: b=2\r\n");
}

TEST(AppendRelayableFields, DropsHopByHopFieldsAndThoseNamedInConnection) {
  const policy::HeaderList headers = {{"Connection", "close, X-Upstream-Hop"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"Transfer-Encoding", "chunked"},
                                      {"Trailer", "X-Checksum"},
                                      {"Upgrade", "h2c"},
                                      {"Proxy-Authenticate", "Basic"},
                                      {"x-upstream-hop", "1"},
                                      {"Content-Type", "text/plain"}};
  EXPECT_EQ(relayed(headers, false), "Content-Type: text/plain\r\n");
}

// cachecar writes its own X-Cache and Cache-Status (RFC 9211); an upstream's would be taken as
// ours.
TEST(AppendRelayableFields, DropsTheUpstreamsCacheStatusFields) {
  const policy::HeaderList headers = {
      {"X-Cache", "HIT"}, {"cache-status", "origin; hit"}, {"Vary", "Accept-Encoding"}};
  EXPECT_EQ(relayed(headers, false), "Vary: Accept-Encoding\r\n");
}

// cachecar sets the body's length itself, except where the response has no body to measure
// (HEAD, 304): there the upstream's Content-Length is the only one there is.
TEST(AppendRelayableFields, KeepsContentLengthOnlyWhenAsked) {
  const policy::HeaderList headers = {{"Content-Length", "12"}, {"Content-Type", "text/plain"}};
  EXPECT_EQ(relayed(headers, false), "Content-Type: text/plain\r\n");
  EXPECT_EQ(relayed(headers, true), "Content-Length: 12\r\nContent-Type: text/plain\r\n");
  // Never the transfer coding, even then.
  EXPECT_EQ(relayed({{"Transfer-Encoding", "chunked"}}, true), "");
}

TEST(AppendRelayableFields, AppendsToWhatIsThere) {
  std::string out = "HTTP/1.1 200 OK\r\n";
  append_relayable_fields(out, {{"A", "1"}}, false);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nA: 1\r\n");
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
