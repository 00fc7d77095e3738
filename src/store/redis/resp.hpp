// RESP2 codec: encode commands (binary-safe, with hiredis) and parse replies from read bytes.
// No I/O here: the connection owns the socket and feeds this parser whatever it reads.
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cachecar::store::redis {

// Appends the RESP encoding of one command (an array of bulk strings) to `out`.
// Arguments may contain any bytes, including "\r\n" and '\0'.
void encode_command(std::span<const std::string_view> args, std::string& out);

// One parsed reply; owns its bytes and its children.
struct Reply {
  enum class Type { Status, Error, Integer, String, Nil, Array };

  Type type = Type::Nil;
  std::int64_t integer = 0;     // Integer
  std::string str;              // Status, Error, String
  std::vector<Reply> elements;  // Array

  static Reply status(std::string s) { return {Type::Status, 0, std::move(s), {}}; }
  static Reply error(std::string s) { return {Type::Error, 0, std::move(s), {}}; }
  static Reply string(std::string s) { return {Type::String, 0, std::move(s), {}}; }
  static Reply integer_value(std::int64_t v) { return {Type::Integer, v, {}, {}}; }
  static Reply nil() { return {}; }
  static Reply array(std::vector<Reply> items) { return {Type::Array, 0, {}, std::move(items)}; }

  bool is_error() const noexcept { return type == Type::Error; }
  bool is_nil() const noexcept { return type == Type::Nil; }

  friend bool operator==(const Reply&, const Reply&) = default;
};

std::ostream& operator<<(std::ostream& os, Reply::Type type);
std::ostream& operator<<(std::ostream& os, const Reply& reply);

// Incremental RESP2 reply parser, building Reply values directly.
//
// Bytes arrive either by feed() (a copy) or, without a copy, by reading into prepare() and
// then commit(n). Call next() until it yields nullopt ("need more bytes") before the next
// prepare(). While a large bulk string is incomplete, prepare() hands out the unfilled part of
// that string itself, so a big cached body travels kernel → its final std::string once.
// (Why not hiredis's reader: it copies every reply twice — into its own buffer, then into ours —
// and memmoves its buffer as it consumes it, a large share of a big hit's CPU time: see
// docs/performance.md.)
// After a protocol error the parser stays failed; the caller must drop the connection.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  // Buffers a copy of `bytes`. Fails (store_protocol_error) only if the parser has already failed.
  boost::system::error_code feed(std::string_view bytes);

  // Where the next read should put its bytes (never empty), and how many it put there.
  std::span<char> prepare();
  void commit(std::size_t n);

  // A complete reply, nullopt when more bytes are needed, or store_protocol_error.
  result<std::optional<Reply>> next();

  // No bytes are held that are not yet part of a reply next() returned.
  bool idle() const noexcept { return begin_ == end_ && stack_.empty() && bulk_ == nullptr; }

  // What the last protocol error was ("" if none).
  std::string_view error_message() const noexcept { return error_; }

 private:
  struct Frame {
    Reply* array;          // its elements grow as they arrive (only the innermost ever grows)
    std::size_t expected;  // the announced element count
  };

  result<std::optional<Reply>> fail(std::string message);
  Reply& start_element();
  bool finish_element();  // true when that completed the root reply
  std::optional<std::string_view> take_line();
  bool bulk_pending() const noexcept { return bulk_ != nullptr; }
  void grow_bulk();

  std::string buffer_;  // [begin_, end_) are unparsed bytes
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  Reply root_;
  std::vector<Frame> stack_;  // open arrays, innermost last
  // The bulk string being filled: its payload + CRLF is bulk_total_ bytes, bulk_filled_ of them
  // are in bulk_->str, whose size grows towards bulk_total_ as bytes arrive.
  Reply* bulk_ = nullptr;
  std::size_t bulk_total_ = 0;
  std::size_t bulk_filled_ = 0;
  bool reading_into_bulk_ = false;  // the last prepare() returned bulk_'s storage
  bool failed_ = false;
  std::string error_;
};

}  // namespace cachecar::store::redis
