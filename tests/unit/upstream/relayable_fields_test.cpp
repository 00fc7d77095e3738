// Which upstream response fields reach the client: RFC 9110 §7.6.1 hop-by-hop fields and the
// fields the response's Connection lines name are dropped.
#include "upstream/forwarding.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cachecar::upstream {
namespace {

TEST(AppendRelayableFields, DropsFieldsNamedInAnyConnectionLine) {
  const policy::HeaderList headers{{"Connection", "X-First"},
                                   {"X-First", "1"},
                                   {"Connection", "X-Second"},
                                   {"X-Second", "2"},
                                   {"X-Kept", "3"}};
  std::string out;
  append_relayable_fields(out, headers, false);
  EXPECT_EQ(out, "X-Kept: 3\r\n");
}

TEST(AppendRelayableFields, DropsHopByHopAndFramingFields) {
  const policy::HeaderList headers{{"Keep-Alive", "timeout=5"},
                                   {"Transfer-Encoding", "chunked"},
                                   {"Content-Length", "3"},
                                   {"Upgrade", "h2c"},
                                   {"Content-Type", "text/plain"}};
  std::string out;
  append_relayable_fields(out, headers, false);
  EXPECT_EQ(out, "Content-Type: text/plain\r\n");
  out.clear();
  append_relayable_fields(out, headers, true);
  EXPECT_EQ(out, "Content-Length: 3\r\nContent-Type: text/plain\r\n");
}

}  // namespace
}  // namespace cachecar::upstream
