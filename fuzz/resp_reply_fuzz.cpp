// The RESP2 reply parser as the Redis connection drives it. Input: the bytes a Redis server
// sends. They are parsed twice, copied in whole by feed() and read in small pieces through
// prepare()/commit() (the socket path); both must yield the same replies and the same failure.
// The input's lines are also encoded as one command, which must parse back as the same array.
#include "fuzz_support.hpp"
#include "store/redis/resp.hpp"

#include <array>
#include <cstring>

namespace {

using cachecar::store::redis::Reply;
using cachecar::store::redis::ReplyParser;

struct Outcome {
  std::vector<Reply> replies;
  bool failed = false;
};

// Takes replies until the parser needs more bytes; false once it has failed.
bool drain(ReplyParser& parser, Outcome& out) {
  for (;;) {
    auto next = parser.next();
    if (!next) {
      FUZZ_CHECK(!parser.error_message().empty());
      out.failed = true;
      return false;
    }
    if (!*next) return true;
    out.replies.push_back(std::move(**next));
  }
}

Outcome parse_whole(std::string_view bytes) {
  ReplyParser parser;
  Outcome out;
  FUZZ_CHECK(!parser.feed(bytes));
  drain(parser, out);
  return out;
}

Outcome parse_in_pieces(std::string_view bytes) {
  static constexpr std::array<std::size_t, 6> kPieces{1, 2, 3, 5, 8, 13};
  ReplyParser parser;
  Outcome out;
  for (std::size_t step = 0; !bytes.empty(); ++step) {
    const auto space = parser.prepare();
    FUZZ_CHECK(!space.empty());
    const std::size_t n = std::min({space.size(), bytes.size(), kPieces[step % kPieces.size()]});
    std::memcpy(space.data(), bytes.data(), n);
    parser.commit(n);
    bytes.remove_prefix(n);
    if (!drain(parser, out)) {
      FUZZ_CHECK(parser.feed("+OK\r\n"));  // stays failed
      return out;
    }
  }
  return out;
}

void check_command_round_trip(std::string_view bytes) {
  const auto lines = cachecar::fuzz::split_lines(bytes, 4);
  if (lines.empty()) return;
  std::string encoded;
  cachecar::store::redis::encode_command(lines, encoded);
  ReplyParser parser;
  FUZZ_CHECK(!parser.feed(encoded));
  auto reply = parser.next();
  FUZZ_CHECK(reply && *reply);
  std::vector<Reply> expected;
  for (auto line : lines) expected.push_back(Reply::string(std::string(line)));
  FUZZ_CHECK(**reply == Reply::array(std::move(expected)));
  auto rest = parser.next();
  FUZZ_CHECK(rest && !*rest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = cachecar::fuzz::as_text(data, size);
  const Outcome whole = parse_whole(bytes);
  const Outcome pieces = parse_in_pieces(bytes);
  FUZZ_CHECK(whole.failed == pieces.failed);
  FUZZ_CHECK(whole.replies == pieces.replies);
  check_command_round_trip(bytes);
  return 0;
}
