#include "store/redis/resp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store::redis {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

std::string encode(std::vector<std::string_view> args) {
  std::string out;
  encode_command(args, out);
  return out;
}

// Feeds `bytes` in one go and collects every complete reply.
std::vector<Reply> parse_all(std::string_view bytes) {
  ReplyParser parser;
  EXPECT_FALSE(parser.feed(bytes));
  std::vector<Reply> replies;
  for (;;) {
    auto next = parser.next();
    EXPECT_TRUE(next.has_value()) << next.error().message();
    if (!next || !*next) break;
    replies.push_back(std::move(**next));
  }
  return replies;
}

Reply parse_one(std::string_view bytes) {
  auto replies = parse_all(bytes);
  EXPECT_EQ(replies.size(), 1u);
  return replies.empty() ? Reply::error("no reply") : replies.front();
}

TEST(RespEncode, CommandIsAnArrayOfBulkStrings) {
  EXPECT_EQ(encode({"GET", "key"}), "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
}

TEST(RespEncode, BinaryArgumentsAreLengthPrefixed) {
  const std::string value = "a\r\nb\0c"s;
  EXPECT_EQ(encode({"SET", "k", value}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n"s);
}

TEST(RespEncode, EmptyArgument) {
  EXPECT_EQ(encode({"ECHO", ""}), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST(RespEncode, AppendsToExistingBuffer) {
  std::string out = "prefix";
  const std::array<std::string_view, 1> ping{"PING"};
  encode_command(ping, out);
  encode_command(ping, out);
  EXPECT_EQ(out, "prefix*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
}

TEST(RespEncode, ManyArgumentsBeyondTheInlineArray) {
  std::vector<std::string> storage;
  for (int i = 0; i < 40; ++i) storage.push_back("arg" + std::to_string(i));
  std::vector<std::string_view> args(storage.begin(), storage.end());
  const Reply parsed = parse_one(encode(args));
  ASSERT_EQ(parsed.type, Reply::Type::Array);
  ASSERT_EQ(parsed.elements.size(), 40u);
  EXPECT_EQ(parsed.elements[39], Reply::string("arg39"));
}

TEST(RespParse, Status) {
  EXPECT_EQ(parse_one("+OK\r\n"), Reply::status("OK"));
}

TEST(RespParse, Error) {
  const Reply r = parse_one("-ERR unknown command\r\n");
  EXPECT_TRUE(r.is_error());
  EXPECT_EQ(r.str, "ERR unknown command");
}

TEST(RespParse, Integers) {
  EXPECT_EQ(parse_one(":42\r\n"), Reply::integer_value(42));
  EXPECT_EQ(parse_one(":-7\r\n"), Reply::integer_value(-7));
  EXPECT_EQ(parse_one(":9223372036854775807\r\n"), Reply::integer_value(INT64_MAX));
}

TEST(RespParse, BulkString) {
  EXPECT_EQ(parse_one("$5\r\nhello\r\n"), Reply::string("hello"));
}

TEST(RespParse, EmptyBulkStringIsNotNil) {
  EXPECT_EQ(parse_one("$0\r\n\r\n"), Reply::string(""));
}

TEST(RespParse, NilBulkAndNilArray) {
  EXPECT_TRUE(parse_one("$-1\r\n").is_nil());
  EXPECT_TRUE(parse_one("*-1\r\n").is_nil());
}

TEST(RespParse, BinaryBulkWithCrLfAndNul) {
  const std::string value = "\r\n\0\xff\r\n"s;
  EXPECT_EQ(parse_one("$6\r\n" + value + "\r\n"), Reply::string(value));
}

TEST(RespParse, EmptyArray) {
  EXPECT_EQ(parse_one("*0\r\n"), Reply::array({}));
}

TEST(RespParse, NestedArraysWithEveryType) {
  const std::string bytes =
      "*5\r\n"
      ":1\r\n"
      "*3\r\n$1\r\na\r\n$-1\r\n*2\r\n+x\r\n-E y\r\n"
      "*-1\r\n"
      "*0\r\n"
      "$3\r\nb\0c\r\n"s;
  const Reply expected = Reply::array({
      Reply::integer_value(1),
      Reply::array({Reply::string("a"), Reply::nil(),
                    Reply::array({Reply::status("x"), Reply::error("E y")})}),
      Reply::nil(),
      Reply::array({}),
      Reply::string("b\0c"s),
  });
  EXPECT_EQ(parse_one(bytes), expected);
}

TEST(RespParse, SeveralRepliesInOneFeed) {
  const auto replies = parse_all("+OK\r\n:1\r\n$-1\r\n$2\r\nhi\r\n");
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0], Reply::status("OK"));
  EXPECT_EQ(replies[1], Reply::integer_value(1));
  EXPECT_TRUE(replies[2].is_nil());
  EXPECT_EQ(replies[3], Reply::string("hi"));
}

TEST(RespParse, NeedsMoreBytesUntilTheReplyIsComplete) {
  ReplyParser parser;
  EXPECT_FALSE(parser.feed("$5\r\nhel"));
  auto partial = parser.next();
  ASSERT_TRUE(partial.has_value());
  EXPECT_FALSE(partial->has_value());
  EXPECT_FALSE(parser.feed("lo\r\n"));
  auto full = parser.next();
  ASSERT_TRUE(full.has_value());
  ASSERT_TRUE(full->has_value());
  EXPECT_EQ(**full, Reply::string("hello"));
}

// Every possible split point of a stream with nested and binary replies must give the same
// replies as feeding it whole.
TEST(RespParse, SplitAtEveryOffset) {
  const std::string stream =
      "+OK\r\n"
      "*3\r\n$3\r\na\r\n\r\n*2\r\n:-5\r\n$-1\r\n-ERR no\r\n"
      "$7\r\n\0\r\n\r\nxy\r\n"
      ":12345\r\n"s;
  const auto expected = parse_all(stream);
  ASSERT_EQ(expected.size(), 4u);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    ReplyParser parser;
    std::vector<Reply> got;
    for (std::string_view part :
         {std::string_view(stream).substr(0, split), std::string_view(stream).substr(split)}) {
      ASSERT_FALSE(parser.feed(part));
      for (;;) {
        auto next = parser.next();
        ASSERT_TRUE(next.has_value()) << "split at " << split;
        if (!*next) break;
        got.push_back(std::move(**next));
      }
    }
    EXPECT_EQ(got, expected) << "split at " << split;
  }
}

TEST(RespParse, ByteByByte) {
  const std::string stream = "*2\r\n$3\r\nfoo\r\n*1\r\n:7\r\n"s;
  ReplyParser parser;
  std::vector<Reply> got;
  for (char c : stream) {
    ASSERT_FALSE(parser.feed(std::string_view(&c, 1)));
    auto next = parser.next();
    ASSERT_TRUE(next.has_value());
    if (*next) got.push_back(std::move(**next));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], Reply::array({Reply::string("foo"), Reply::array({Reply::integer_value(7)})}));
}

TEST(RespParse, ProtocolErrorIsStickyAndReported) {
  ReplyParser parser;
  EXPECT_FALSE(parser.feed("?bogus\r\n"));
  auto bad = parser.next();
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), make_error_code(errc::store_protocol_error));
  EXPECT_FALSE(parser.error_message().empty());
  EXPECT_TRUE(parser.feed("+OK\r\n"));
  EXPECT_FALSE(parser.next().has_value());
}

TEST(RespParse, ProtocolErrorInsideAnArrayFreesThePartialReply) {
  ReplyParser parser;
  EXPECT_FALSE(parser.feed("*3\r\n$1\r\na\r\n:notanumber\r\n"));
  EXPECT_FALSE(parser.next().has_value());
}

TEST(RespParse, DestroyedWithAPartialArrayPending) {
  ReplyParser parser;
  EXPECT_FALSE(parser.feed("*2\r\n*2\r\n$1\r\na\r\n"));
  auto next = parser.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  // The destructor frees the half-built tree (checked under ASan).
}

// Reads `bytes` the way the connection does: into prepare(), at most `chunk` bytes at a time.
std::vector<Reply> read_in_chunks(ReplyParser& parser, std::string_view bytes, std::size_t chunk) {
  std::vector<Reply> replies;
  while (!bytes.empty()) {
    const auto space = parser.prepare();
    EXPECT_FALSE(space.empty());
    const std::size_t n = std::min({space.size(), bytes.size(), chunk});
    std::copy_n(bytes.data(), n, space.data());
    parser.commit(n);
    bytes.remove_prefix(n);
    for (;;) {
      auto next = parser.next();
      EXPECT_TRUE(next.has_value());
      if (!next || !*next) break;
      replies.push_back(std::move(**next));
    }
  }
  return replies;
}

TEST(RespParse, LargeBulkStringsAreReadStraightIntoTheirStorage) {
  std::string body(200'000, 'x');
  for (std::size_t i = 0; i < body.size(); i += 97) body[i] = static_cast<char>(i % 251);
  const std::string stream =
      ":1\r\n$" + std::to_string(body.size()) + "\r\n" + body + "\r\n+OK\r\n";
  ReplyParser parser;
  const auto replies = read_in_chunks(parser, stream, 16 * 1024);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], Reply::integer_value(1));
  EXPECT_EQ(replies[1], Reply::string(body));
  EXPECT_EQ(replies[2], Reply::status("OK"));

  // Once the length line is parsed, the next read lands in the string itself: it may take
  // everything still missing (payload + CRLF) in one go.
  ReplyParser direct;
  ASSERT_FALSE(direct.feed("$100000\r\n"));
  ASSERT_FALSE(direct.next().value().has_value());
  EXPECT_EQ(direct.prepare().size(), 100'002u);
}

TEST(RespParse, BulkStringsLargerThanTheFirstAllocationGrowAsBytesArrive) {
  std::string body(3 * 1024 * 1024 + 7, 'y');
  body[12345] = '\r';
  body[body.size() - 1] = '\n';
  const std::string stream = "*2\r\n$" + std::to_string(body.size()) + "\r\n" + body + "\r\n:5\r\n";
  for (std::size_t chunk : {std::size_t{64 * 1024}, std::size_t{1000 * 1000}, stream.size()}) {
    ReplyParser parser;
    const auto replies = read_in_chunks(parser, stream, chunk);
    ASSERT_EQ(replies.size(), 1u) << "chunk " << chunk;
    EXPECT_EQ(replies[0], Reply::array({Reply::string(body), Reply::integer_value(5)}));
  }
}

TEST(RespParse, ManyPipelinedRepliesAcrossReads) {
  std::string stream;
  std::vector<Reply> expected;
  for (int i = 0; i < 500; ++i) {
    const std::string value(static_cast<std::size_t>(i * 37 % 3000),
                            static_cast<char>('a' + i % 26));
    stream += "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
    expected.push_back(Reply::string(value));
  }
  for (std::size_t chunk : {1u, 7u, 1000u, 5000u, 65536u}) {
    ReplyParser parser;
    EXPECT_EQ(read_in_chunks(parser, stream, chunk), expected) << "chunk " << chunk;
  }
}

TEST(RespParse, MalformedRepliesAreProtocolErrors) {
  const std::string deep = [] {
    std::string s;
    for (int i = 0; i < 17; ++i) s += "*1\r\n";
    return s + ":1\r\n";
  }();
  for (std::string bytes : {"$3\r\nabcXY"s, "$-2\r\n"s, ":12a\r\n"s, ":\r\n"s, "\r\n"s, "*-5\r\n"s,
                            "$99999999999\r\n"s, deep}) {
    ReplyParser parser;
    ASSERT_FALSE(parser.feed(bytes));
    EXPECT_FALSE(parser.next().has_value()) << bytes;
    EXPECT_FALSE(parser.error_message().empty()) << bytes;
  }
}

TEST(RespParse, NestingWithinTheLimitIsFine) {
  std::string bytes;
  for (int i = 0; i < 16; ++i) bytes += "*1\r\n";
  Reply expected = Reply::integer_value(1);
  for (int i = 0; i < 16; ++i) expected = Reply::array({expected});
  EXPECT_EQ(parse_one(bytes + ":1\r\n"), expected);
}

TEST(RespParse, AnEndlessLineIsAProtocolErrorNotUnboundedMemory) {
  ReplyParser parser;
  const std::string chunk(64 * 1024, 'a');
  ASSERT_FALSE(parser.feed("+"));
  bool failed = false;
  for (int i = 0; i < 20 && !failed; ++i) {
    ASSERT_FALSE(parser.feed(chunk));
    failed = !parser.next().has_value();
  }
  EXPECT_TRUE(failed);
}

TEST(RespRoundTrip, EncodedCommandParsesBackToItsArguments) {
  const std::string binary = "\r\n\0\x01\xff"s;
  const Reply parsed = parse_one(encode({"SET", binary, ""}));
  EXPECT_EQ(parsed, Reply::array({Reply::string("SET"), Reply::string(binary), Reply::string("")}));
}

TEST(RespPrint, ReadableInTestFailures) {
  std::ostringstream os;
  os << Reply::array({Reply::string("a\r\n"), Reply::integer_value(3), Reply::nil()});
  EXPECT_EQ(os.str(), "Array[String(\"a\\x0d\\x0a\"), Integer(3), Nil]");
}

}  // namespace
}  // namespace cachecar::store::redis
