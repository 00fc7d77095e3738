// RESP2 codec on hiredis: encode commands (binary-safe) and parse replies from fed bytes.
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

struct redisReader;

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

// Incremental reply parser (RAII over a hiredis redisReader, building Reply values directly).
// feed() any number of bytes, then call next() until it yields nullopt ("need more bytes").
// After a protocol error the parser stays failed; the caller must drop the connection.
class ReplyParser {
 public:
  ReplyParser();
  ~ReplyParser();
  ReplyParser(const ReplyParser&) = delete;
  ReplyParser& operator=(const ReplyParser&) = delete;

  // Buffers bytes. Fails (store_protocol_error) only if the parser has already failed.
  boost::system::error_code feed(std::string_view bytes);

  // A complete reply, nullopt when more bytes are needed, or store_protocol_error.
  result<std::optional<Reply>> next();

  // hiredis's description of the last protocol error ("" if none).
  std::string_view error_message() const noexcept;

 private:
  redisReader* reader_;
};

}  // namespace cachecar::store::redis
