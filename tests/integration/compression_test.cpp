// Stored-body compression (cache.compression) through a real cachecar, Redis and upstream: what
// is stored gzip, what each client gets on a miss and on a hit (Accept-Encoding with q-values),
// each representation's ETag, 304s, HEAD and ranges, upstream gzip bodies, corrupt and bomb
// bodies from the upstream and from the store, and the metrics.
#include "core/gzip.hpp"
#include "integration/http_caching.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachecar::test {
namespace {

using namespace std::chrono_literals;
using http_caching::metric;

// /c/*: rule mode (stores any 200 for 60 s); /u/*: freshness from the response.
const std::string kRules =
    "  - match: \"GET /c/*\"\n"
    "    ttl: 60s\n"
    "  - match: \"GET /u/*\"\n"
    "    freshness: upstream\n";

const std::string kCompressionOn =
    "  compression:\n    enabled: true\n    min_size: 1KiB\n    level: 6\n";

HarnessOptions compression_options(const std::string& cache = kCompressionOn) {
  return HarnessOptions{.rules = kRules, .cache = cache};
}

// An 8 KiB JSON list: compresses well, as a real list does.
std::string json_list(std::size_t bytes = 8192) {
  std::string out = "[";
  for (int i = 0; out.size() + 64 < bytes; ++i) {
    if (i > 0) out += ",";
    out += "{\"id\":" + std::to_string(i) + ",\"name\":\"product " + std::to_string(i) +
           "\",\"price\":" + std::to_string(100 + i % 7) + "}";
  }
  out += "]";
  out.resize(bytes - 1, ' ');
  out += "\n";
  return out;
}

StubReply json_reply(std::string body, Headers extra = {}) {
  Headers headers{{"Content-Type", "application/json; charset=utf-8"}, {"ETag", "\"v1\""}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return StubReply{.headers = std::move(headers), .body = std::move(body)};
}

std::string gunzip(const std::string& body) {
  auto out = core::gzip_decompress(body, 64 << 20);
  EXPECT_TRUE(out.has_value()) << "not gzip";
  return out ? *out : std::string();
}

std::string gzip(const std::string& body) {
  return core::gzip_compress(body, 6).value();
}

bool varies_on_encoding(const HttpResponse& r) {
  return r.header("Vary").find("Accept-Encoding") != std::string::npos;
}

const Headers kGzip{{"Accept-Encoding", "gzip, deflate, br"}};
const Headers kPlain{};

class CompressionTest : public ::testing::Test {
 protected:
  Harness h{compression_options()};
  const std::string list = json_list();

  // The Redis bytes of the entry for `path` (STRLEN of its key).
  long long stored_bytes(const std::string& path) {
    return h.redis->command({"STRLEN", Harness::redis_key("GET:" + path)}).integer;
  }
};

// --- What is stored, and what each client gets ---

TEST_F(CompressionTest, GzipClientGetsTheStoredGzipBytesOnMissAndHit) {
  h.upstream.on("/c/list", json_reply(list));
  const auto miss = h.get("/c/list", kGzip);
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  EXPECT_EQ(miss.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(varies_on_encoding(miss)) << miss.header("Vary");
  EXPECT_EQ(miss.header("ETag"), "W/\"v1-gzip\"");
  EXPECT_EQ(miss.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(miss.header("Content-Length"), std::to_string(miss.body.size()));
  EXPECT_LT(miss.body.size(), list.size() / 2);
  EXPECT_EQ(gunzip(miss.body), list);

  const auto hit = h.get("/c/list", kGzip);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_EQ(hit.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(varies_on_encoding(hit));
  EXPECT_EQ(hit.header("ETag"), "W/\"v1-gzip\"");
  EXPECT_EQ(hit.body, miss.body) << "the stored bytes, as on the miss";
  EXPECT_EQ(h.upstream.requests("/c/list"), 1U);
  // Redis holds the compressed body (plus a small head), not the 8 KiB.
  EXPECT_LT(stored_bytes("/c/list"), static_cast<long long>(miss.body.size()) + 1024);
}

TEST_F(CompressionTest, IdentityClientGetsTheBodyDecompressedOnMissAndHit) {
  h.upstream.on("/c/list", json_reply(list));
  const auto miss = h.get("/c/list", kPlain);
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  EXPECT_FALSE(miss.has_header("Content-Encoding"));
  EXPECT_EQ(miss.body, list);
  EXPECT_EQ(miss.header("ETag"), "\"v1\"") << "the origin's own";
  EXPECT_TRUE(varies_on_encoding(miss));
  EXPECT_EQ(miss.header("Content-Length"), std::to_string(list.size()));

  const auto hit = h.get("/c/list", kPlain);
  EXPECT_EQ(hit.header("X-Cache"), "HIT");
  EXPECT_FALSE(hit.has_header("Content-Encoding"));
  EXPECT_EQ(hit.body, list);
  EXPECT_EQ(hit.header("ETag"), "\"v1\"");
  EXPECT_TRUE(varies_on_encoding(hit));
  // The plain client's fill is stored gzip, and serves gzip clients as well.
  EXPECT_LT(stored_bytes("/c/list"), static_cast<long long>(list.size() / 2));
  const auto gzip_hit = h.get("/c/list", kGzip);
  EXPECT_EQ(gzip_hit.header("X-Cache"), "HIT");
  EXPECT_EQ(gzip_hit.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gunzip(gzip_hit.body), list);
  EXPECT_EQ(h.upstream.requests("/c/list"), 1U);
}

TEST_F(CompressionTest, OneEntryServesBothWhenTheOriginVariesOnAcceptEncoding) {
  h.upstream.on("/u/list",
                json_reply(list, {{"Cache-Control", "max-age=60"}, {"Vary", "Accept-Encoding"}}));
  EXPECT_EQ(h.get("/u/list", kGzip).header("Content-Encoding"), "gzip");
  const auto plain = h.get("/u/list", kPlain);
  EXPECT_EQ(plain.header("X-Cache"), "HIT");
  EXPECT_EQ(plain.body, list);
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(h.get("/u/list", {{"Accept-Encoding", "gzip;q=0.5"}}).header("X-Cache"), "HIT");
  EXPECT_EQ(h.upstream.requests("/u/list"), 1U);
}

struct AcceptCase {
  std::string name;
  std::string accept_encoding;
  bool gzip;
};

class AcceptEncodingTest : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(AcceptEncodingTest, QValuesChooseTheRepresentation) {
  const auto& c = GetParam();
  Harness h{compression_options()};
  const std::string list = json_list();
  h.upstream.on("/c/list", json_reply(list));
  for (const char* expected_cache : {"MISS", "HIT"}) {
    const auto r = h.get("/c/list", {{"Accept-Encoding", c.accept_encoding}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("X-Cache"), expected_cache);
    if (c.gzip) {
      EXPECT_EQ(r.header("Content-Encoding"), "gzip") << expected_cache;
      EXPECT_EQ(gunzip(r.body), list);
    } else {
      EXPECT_FALSE(r.has_header("Content-Encoding")) << expected_cache;
      EXPECT_EQ(r.body, list);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Weights, AcceptEncodingTest,
    testing::Values(AcceptCase{"Gzip", "gzip", true}, AcceptCase{"XGzip", "x-gzip", true},
                    AcceptCase{"GzipQZero", "gzip;q=0", false},
                    AcceptCase{"GzipQZeroPointZero", "br, gzip; q=0.0", false},
                    AcceptCase{"Star", "*", true}, AcceptCase{"StarQZero", "*;q=0", false},
                    AcceptCase{"StarButGzipRefused", "*, gzip;q=0", false},
                    AcceptCase{"IdentityPreferred", "identity;q=1, gzip;q=0.5", false},
                    AcceptCase{"GzipPreferred", "identity;q=0.5, gzip", true},
                    AcceptCase{"OnlyBrotli", "br", false}, AcceptCase{"Empty", "", false},
                    AcceptCase{"InvalidWeightIgnored", "gzip;q=2", false}),
    [](const testing::TestParamInfo<AcceptCase>& param_info) { return param_info.param.name; });

TEST(CompressionUntouchedTest, BelowMinSizeUnlistedTypeNoTransformAndDisabledAreStoredAsSent) {
  for (const bool enabled : {true, false}) {
    Harness h{enabled ? compression_options() : compression_options("")};
    const std::string small = json_list(1000);  // below min_size
    const std::string png(4096, '\x7f');
    const std::string list = json_list();
    h.upstream.on("/c/small", json_reply(small));
    h.upstream.on("/c/png", StubReply{.headers = {{"Content-Type", "image/png"}}, .body = png});
    h.upstream.on("/c/nt", json_reply(list, {{"Cache-Control", "no-transform"}}));
    h.upstream.on("/c/list", json_reply(list));
    const std::vector<std::pair<std::string, const std::string*>> untouched = {
        {"/c/small", &small}, {"/c/png", &png}, {"/c/nt", &list}};
    for (const auto& [path, body] : untouched) {
      for (const char* expected_cache : {"MISS", "HIT"}) {
        const auto r = h.get(path, kGzip);
        EXPECT_EQ(r.header("X-Cache"), expected_cache) << path;
        EXPECT_FALSE(r.has_header("Content-Encoding")) << path << " enabled=" << enabled;
        EXPECT_EQ(r.body, *body) << path;
        if (path != "/c/png") {
          EXPECT_EQ(r.header("ETag"), "\"v1\"") << path;
        }
      }
      const auto stored = h.redis->command({"STRLEN", Harness::redis_key("GET:" + path)}).integer;
      EXPECT_GE(stored, static_cast<long long>(body->size())) << path;
    }
    const auto list_response = h.get("/c/list", kGzip);
    EXPECT_EQ(list_response.has_header("Content-Encoding"), enabled);
    EXPECT_EQ(list_response.has_header("Vary"), enabled) << "no Vary when nothing is coded";
  }
}

// --- An upstream gzip body ---

TEST_F(CompressionTest, UpstreamGzipIsStoredAsItCameAndDecompressedForPlainClients) {
  const std::string compressed = gzip(list);
  h.upstream.on("/u/g", [&](const SeenRequest&, std::size_t) {
    return StubReply{.headers = {{"Content-Type", "application/json"},
                                 {"Content-Encoding", "gzip"},
                                 {"Vary", "Accept-Encoding"},
                                 {"Cache-Control", "max-age=60"},
                                 {"ETag", "\"g1\""}},
                     .body = compressed};
  });
  const auto miss = h.get("/u/g", kGzip);
  EXPECT_EQ(miss.header("X-Cache"), "MISS");
  EXPECT_EQ(miss.header("Content-Encoding"), "gzip");
  EXPECT_EQ(miss.header("ETag"), "\"g1\"") << "the origin's gzip representation keeps its ETag";
  EXPECT_EQ(miss.body, compressed) << "stored and served as it came";
  const auto plain = h.get("/u/g", kPlain);
  EXPECT_EQ(plain.header("X-Cache"), "HIT");
  EXPECT_FALSE(plain.has_header("Content-Encoding"));
  EXPECT_EQ(plain.body, list);
  EXPECT_EQ(plain.header("ETag"), "W/\"g1-identity\"");
  EXPECT_EQ(plain.header("Content-Length"), std::to_string(list.size()));
  EXPECT_EQ(h.get("/u/g", kGzip).body, compressed);
  EXPECT_EQ(h.upstream.requests("/u/g"), 1U);

  // A plain client's miss on an origin that always sends gzip: decompressed on the miss too.
  h.upstream.on("/u/g2", StubReply{.headers = {{"Content-Type", "application/json"},
                                               {"Content-Encoding", "gzip"},
                                               {"Cache-Control", "max-age=60"}},
                                   .body = compressed});
  const auto plain_miss = h.get("/u/g2", kPlain);
  EXPECT_EQ(plain_miss.header("X-Cache"), "MISS");
  EXPECT_FALSE(plain_miss.has_header("Content-Encoding"));
  EXPECT_EQ(plain_miss.body, list);
  EXPECT_TRUE(varies_on_encoding(plain_miss));
  EXPECT_FALSE(plain_miss.has_header("ETag"));
  const auto gzip_hit = h.get("/u/g2", kGzip);
  EXPECT_EQ(gzip_hit.header("X-Cache"), "HIT");
  EXPECT_EQ(gzip_hit.body, compressed);
}

TEST_F(CompressionTest, CorruptOrBombGzipFromTheUpstreamIsNeverDecompressedAgain) {
  // 16 MiB of zeros in ~16 KiB: within max_body_size (64 KiB) compressed, far beyond it
  // decompressed.
  const std::string bomb = gzip(std::string(16 << 20, '\0'));
  ASSERT_LT(bomb.size(), 64U << 10);
  std::string corrupt = gzip(list);
  corrupt[corrupt.size() / 2] ^= 0x55;
  const std::string truncated = gzip(list).substr(0, 100);
  const double before = metric(h, "cachecar_decompressions_total");
  int n = 0;
  const std::vector<const std::string*> bodies = {&bomb, &corrupt, &truncated};
  for (const std::string* body : bodies) {
    const std::string path = "/c/bad" + std::to_string(n++);
    h.upstream.on(path, StubReply{.headers = {{"Content-Type", "application/json"},
                                              {"Content-Encoding", "gzip"}},
                                  .body = *body});
    for (const Headers& client : {kPlain, kGzip, kPlain}) {
      const auto r = h.get(path, client);
      ASSERT_EQ(r.status, 200) << path;
      // Relayed (and stored) as the origin sent it: cachecar does not decode it for anyone.
      EXPECT_EQ(r.header("Content-Encoding"), "gzip") << path;
      EXPECT_EQ(r.body, *body) << path;
    }
  }
  // Each was decompressed once, when its fill checked it (bounded by max_body_size).
  EXPECT_TRUE(
      wait_until([&] { return metric(h, "cachecar_decompressions_total") == before + 3; }, 5s));
  EXPECT_EQ(h.get("/c/list-after", kGzip).status, 200) << "the proxy still serves";
}

TEST_F(CompressionTest, CorruptStoredGzipIsA502AndTheEntryIsRefetched) {
  h.upstream.on("/c/list", json_reply(list));
  ASSERT_EQ(h.get("/c/list", kGzip).header("Content-Encoding"), "gzip");
  // Damage the deflate data in Redis (same length, TTL kept): the CRC no longer matches.
  const std::string key = Harness::redis_key("GET:/c/list");
  const std::string value = h.redis->command({"GET", key}).str;
  const auto body_at = value.find("\x1f\x8b");
  ASSERT_NE(body_at, std::string::npos);
  h.redis->command({"SETRANGE", key, std::to_string(body_at + 200), "garbage!"});
  // A gzip client gets the stored bytes as they are (its decoder finds the damage); a client
  // that needs them decompressed gets a 502, and the entry goes.
  EXPECT_EQ(h.get("/c/list", kGzip).header("X-Cache"), "HIT");
  const auto broken = h.get("/c/list", kPlain);
  EXPECT_EQ(broken.status, 502);
  EXPECT_NE(broken.body.find("decompressed"), std::string::npos) << broken.body;
  EXPECT_FALSE(h.redis_has("GET:/c/list"));
  EXPECT_TRUE(wait_until(
      [&] { return metric(h, "cachecar_store_errors_total{operation=\"decode\"}") == 1; }, 5s));
  const auto refetched = h.get("/c/list", kPlain);
  EXPECT_EQ(refetched.status, 200);
  EXPECT_EQ(refetched.header("X-Cache"), "MISS");
  EXPECT_EQ(refetched.body, list);
  EXPECT_EQ(h.upstream.requests("/c/list"), 2U);
}

// --- Conditional requests, HEAD, ranges ---

TEST_F(CompressionTest, IfNoneMatchWithEachRepresentationsETag) {
  h.upstream.on("/c/list", json_reply(list));
  // On the miss (the fill asks for the whole body; the precondition is answered here).
  const auto miss =
      h.get("/c/list", {{"Accept-Encoding", "gzip"}, {"If-None-Match", "W/\"v1-gzip\""}});
  EXPECT_EQ(miss.status, 304);
  EXPECT_EQ(miss.header("ETag"), "W/\"v1-gzip\"");
  EXPECT_TRUE(varies_on_encoding(miss));
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "");
  // Hits.
  const auto gzip_304 =
      h.get("/c/list", {{"Accept-Encoding", "gzip"}, {"If-None-Match", "W/\"v1-gzip\""}});
  EXPECT_EQ(gzip_304.status, 304);
  EXPECT_EQ(gzip_304.header("X-Cache"), "HIT");
  EXPECT_EQ(gzip_304.header("ETag"), "W/\"v1-gzip\"");
  const auto plain_304 = h.get("/c/list", {{"If-None-Match", "\"v1\""}});
  EXPECT_EQ(plain_304.status, 304);
  EXPECT_EQ(plain_304.header("ETag"), "\"v1\"");
  EXPECT_EQ(h.get("/c/list", {{"If-None-Match", "W/\"v1\""}}).status, 304) << "weak comparison";
  // The other representation's ETag does not match: the whole body of this one.
  const auto plain_full = h.get("/c/list", {{"If-None-Match", "W/\"v1-gzip\""}});
  EXPECT_EQ(plain_full.status, 200);
  EXPECT_EQ(plain_full.body, list);
  const auto gzip_full =
      h.get("/c/list", {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"v1\""}});
  EXPECT_EQ(gzip_full.status, 200);
  EXPECT_EQ(gunzip(gzip_full.body), list);
  // A plain client's 304 on its miss.
  h.upstream.on("/c/other", json_reply(list));
  EXPECT_EQ(h.get("/c/other", {{"If-None-Match", "\"v1\""}}).status, 304);
  EXPECT_EQ(h.upstream.requests("/c/list"), 1U);
}

TEST_F(CompressionTest, RevalidationSendsTheOriginsETagAndKeepsTheEntryCoded) {
  // Stale at once, revalidated with the origin's own ETag (not the gzip one).
  h.upstream.on("/u/r", http_caching::etag_origin("\"r1\"", "max-age=0", list));
  const auto first = h.get("/u/r", kGzip);
  EXPECT_EQ(first.header("ETag"), "W/\"r1-gzip\"");
  const auto again = h.get("/u/r", kPlain);
  EXPECT_EQ(h.upstream.last().header("If-None-Match"), "\"r1\"");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, list);
  EXPECT_EQ(again.header("ETag"), "\"r1\"");
  EXPECT_EQ(again.header("Cache-Status").find("fwd-status=304") != std::string::npos, true)
      << again.header("Cache-Status");
  const auto gzip_again = h.get("/u/r", kGzip);
  EXPECT_EQ(gzip_again.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip_again.header("ETag"), "W/\"r1-gzip\"");
  EXPECT_EQ(gunzip(gzip_again.body), list);
  EXPECT_LT(stored_bytes("/u/r"), static_cast<long long>(list.size() / 2)) << "still coded";
}

TEST_F(CompressionTest, HeadContentLengthIsThatOfEachRepresentation) {
  h.upstream.on("/c/list", json_reply(list));
  const auto plain_head = h.request("HEAD", "/c/list");  // the miss: fetched with GET, stored
  EXPECT_EQ(plain_head.status, 200);
  EXPECT_EQ(plain_head.header("Content-Length"), std::to_string(list.size()));
  EXPECT_FALSE(plain_head.has_header("Content-Encoding"));
  EXPECT_TRUE(plain_head.body.empty());
  const auto gzip_get = h.get("/c/list", kGzip);
  ASSERT_EQ(gzip_get.header("X-Cache"), "HIT");
  const auto gzip_head = h.request("HEAD", "/c/list", kGzip);
  EXPECT_EQ(gzip_head.header("X-Cache"), "HIT");
  EXPECT_EQ(gzip_head.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip_head.header("Content-Length"), std::to_string(gzip_get.body.size()));
  EXPECT_EQ(gzip_head.header("ETag"), "W/\"v1-gzip\"");
  const auto plain_hit_head = h.request("HEAD", "/c/list");
  EXPECT_EQ(plain_hit_head.header("Content-Length"), std::to_string(list.size()));
  EXPECT_EQ(plain_hit_head.header("ETag"), "\"v1\"");
  EXPECT_EQ(h.upstream.requests("/c/list"), 1U);
}

TEST_F(CompressionTest, RangesApplyToTheRepresentationSent) {
  h.upstream.on("/c/list", json_reply(list));
  const auto whole = h.get("/c/list", kGzip);
  const auto gzip_range = h.get("/c/list", {{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-9"}});
  EXPECT_EQ(gzip_range.status, 206);
  EXPECT_EQ(gzip_range.body, whole.body.substr(0, 10));
  EXPECT_EQ(gzip_range.header("Content-Range"), "bytes 0-9/" + std::to_string(whole.body.size()));
  const auto plain_range = h.get("/c/list", {{"Range", "bytes=1-4"}});
  EXPECT_EQ(plain_range.status, 206);
  EXPECT_EQ(plain_range.body, list.substr(1, 4));
  EXPECT_EQ(plain_range.header("Content-Range"), "bytes 1-4/" + std::to_string(list.size()));
  const auto beyond = h.get("/c/list", {{"Range", "bytes=" + std::to_string(list.size()) + "-"}});
  EXPECT_EQ(beyond.status, 416);
  // If-Range with the plain representation's ETag: a range of the plain body.
  const auto if_range = h.get("/c/list", {{"Range", "bytes=0-0"}, {"If-Range", "\"v1\""}});
  EXPECT_EQ(if_range.status, 206);
  EXPECT_EQ(if_range.body, "[");
}

// --- Metrics ---

TEST_F(CompressionTest, MetricsCountBytesStoredAndDecompressions) {
  h.upstream.on("/c/list", json_reply(list));
  const auto gzip_miss = h.get("/c/list", kGzip);
  ASSERT_EQ(gzip_miss.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(wait_until(
      [&] {
        return metric(h, "cachecar_compression_bytes_total{stage=\"original\"}") == list.size();
      },
      5s));
  EXPECT_EQ(metric(h, "cachecar_compression_bytes_total{stage=\"stored\"}"),
            static_cast<double>(gzip_miss.body.size()));
  EXPECT_EQ(metric(h, "cachecar_decompressions_total"), 0) << "a gzip hit decompresses nothing";
  h.get("/c/list", kGzip);
  h.get("/c/list", kPlain);
  h.get("/c/list", kPlain);
  h.request("HEAD", "/c/list");                     // needs no body: nothing decompressed
  h.get("/c/list", {{"If-None-Match", "\"v1\""}});  // a 304: nothing decompressed
  EXPECT_TRUE(wait_until([&] { return metric(h, "cachecar_decompressions_total") == 2; }, 5s))
      << metric(h, "cachecar_decompressions_total");
  EXPECT_EQ(metric(h, "cachecar_compression_bytes_total{stage=\"original\"}"), list.size())
      << "hits store nothing";
}

}  // namespace
}  // namespace cachecar::test
