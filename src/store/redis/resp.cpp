#include "store/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <new>

namespace cachecar::store::redis {

void encode_command(std::span<const std::string_view> args, std::string& out) {
  // Small commands (the common case) avoid heap-allocating the pointer arrays.
  constexpr std::size_t kInlineArgs = 16;
  const char* inline_ptrs[kInlineArgs];
  std::size_t inline_lens[kInlineArgs];
  std::vector<const char*> heap_ptrs;
  std::vector<std::size_t> heap_lens;
  const char** ptrs = inline_ptrs;
  std::size_t* lens = inline_lens;
  if (args.size() > kInlineArgs) {
    heap_ptrs.resize(args.size());
    heap_lens.resize(args.size());
    ptrs = heap_ptrs.data();
    lens = heap_lens.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    ptrs[i] = args[i].data();
    lens[i] = args[i].size();
  }
  char* formatted = nullptr;
  const int len = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), ptrs, lens);
  if (len < 0 || formatted == nullptr) throw std::bad_alloc();
  out.append(formatted, static_cast<std::size_t>(len));
  std::free(formatted);  // hiredis 0.14 allocates with malloc and has no freeFormattedCommand
}

namespace {

void print_bytes(std::ostream& os, std::string_view s) {
  os << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (c >= 0x20 && c < 0x7f) {
      os << c;
    } else {
      os << "\\x" << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(c)
         << std::dec << std::setfill(' ');
    }
  }
  os << '"';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, Reply::Type type) {
  switch (type) {
    case Reply::Type::Status:
      return os << "Status";
    case Reply::Type::Error:
      return os << "Error";
    case Reply::Type::Integer:
      return os << "Integer";
    case Reply::Type::String:
      return os << "String";
    case Reply::Type::Nil:
      return os << "Nil";
    case Reply::Type::Array:
      return os << "Array";
  }
  return os << "Unknown";
}

std::ostream& operator<<(std::ostream& os, const Reply& reply) {
  os << reply.type;
  switch (reply.type) {
    case Reply::Type::Status:
    case Reply::Type::Error:
    case Reply::Type::String:
      os << '(';
      print_bytes(os, reply.str);
      return os << ')';
    case Reply::Type::Integer:
      return os << '(' << reply.integer << ')';
    case Reply::Type::Nil:
      return os;
    case Reply::Type::Array:
      os << '[';
      for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        if (i != 0) os << ", ";
        os << reply.elements[i];
      }
      return os << ']';
  }
  return os;
}

namespace {

constexpr std::size_t kInitialBufferBytes = 32 * 1024;
constexpr std::size_t kMinReadBytes = 4 * 1024;
// A bulk string with at least this much still missing is read straight into its own storage.
constexpr std::size_t kDirectReadMinBytes = 4 * 1024;
// Limits against a peer that is not Redis (or is broken): Redis's own proto-max-bulk-len is
// 512 MiB; no command we send is answered with millions of elements or deep nesting. Memory
// follows the bytes that actually arrive, not the lengths announced: arrays reserve at most
// kArrayReserve elements and bulk strings start at kBulkFirstBytes, growing as data comes.
constexpr std::size_t kMaxLineBytes = 1024 * 1024;
constexpr std::size_t kArrayReserve = 1024;
constexpr std::size_t kBulkFirstBytes = 1024 * 1024;
constexpr std::int64_t kMaxBulkBytes = 512LL * 1024 * 1024;
constexpr std::int64_t kMaxArrayElements = 4LL * 1024 * 1024;
constexpr std::size_t kMaxDepth = 16;

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), last, value);
  if (ec != std::errc() || ptr != last || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

ReplyParser::ReplyParser() : buffer_(kInitialBufferBytes, '\0') {}

ReplyParser::~ReplyParser() = default;

boost::system::error_code ReplyParser::feed(std::string_view bytes) {
  if (failed_) return errc::store_protocol_error;
  while (!bytes.empty()) {
    const auto space = prepare();
    const std::size_t n = std::min(space.size(), bytes.size());
    std::memcpy(space.data(), bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
  return {};
}

void ReplyParser::grow_bulk() {
  std::string& str = bulk_->str;
  if (bulk_filled_ == str.size() && str.size() < bulk_total_) {
    str.resize(std::min(bulk_total_, std::max<std::size_t>(str.size() * 2, 1)));
  }
}

std::span<char> ReplyParser::prepare() {
  if (bulk_pending() && begin_ == end_ && bulk_total_ - bulk_filled_ >= kDirectReadMinBytes) {
    grow_bulk();
    reading_into_bulk_ = true;
    return {bulk_->str.data() + bulk_filled_, bulk_->str.size() - bulk_filled_};
  }
  reading_into_bulk_ = false;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (buffer_.size() > 4 * kInitialBufferBytes) {  // after one huge line: give it back
      buffer_.resize(kInitialBufferBytes);
      buffer_.shrink_to_fit();
    }
  } else if (buffer_.size() - end_ < kMinReadBytes && begin_ > 0) {
    // Only an incomplete tail is left (next() consumed the rest): move it to the front.
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kMinReadBytes) buffer_.resize(buffer_.size() * 2);
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void ReplyParser::commit(std::size_t n) {
  if (reading_into_bulk_) {
    bulk_filled_ += n;
  } else {
    end_ += n;
  }
  reading_into_bulk_ = false;
}

result<std::optional<Reply>> ReplyParser::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  bulk_ = nullptr;
  stack_.clear();
  root_ = Reply{};
  return errc::store_protocol_error;
}

Reply& ReplyParser::start_element() {
  if (stack_.empty()) {
    root_ = Reply{};
    return root_;
  }
  return stack_.back().array->elements.emplace_back();
}

bool ReplyParser::finish_element() {
  while (!stack_.empty()) {
    const Frame& top = stack_.back();
    if (top.array->elements.size() < top.expected) return false;
    stack_.pop_back();  // the array is complete: it is itself an element of its parent
  }
  return true;
}

std::optional<std::string_view> ReplyParser::take_line() {
  const std::string_view unparsed(buffer_.data() + begin_, end_ - begin_);
  const auto crlf = unparsed.find("\r\n");
  if (crlf == std::string_view::npos) return std::nullopt;
  begin_ += crlf + 2;
  return unparsed.substr(0, crlf);
}

// Long on purpose: one RESP2 state machine over the buffer (RESP spec: each type byte and the
// nesting of arrays), kept together so that every partial-reply case is visible at once.
result<std::optional<Reply>> ReplyParser::next() {
  if (failed_) return errc::store_protocol_error;
  for (;;) {
    if (bulk_pending()) {
      while (bulk_filled_ < bulk_total_) {
        if (begin_ == end_) return std::optional<Reply>{};
        grow_bulk();
        std::string& str = bulk_->str;
        const std::size_t take = std::min(str.size() - bulk_filled_, end_ - begin_);
        std::memcpy(str.data() + bulk_filled_, buffer_.data() + begin_, take);
        begin_ += take;
        bulk_filled_ += take;
      }
      std::string& str = bulk_->str;
      if (!str.ends_with("\r\n")) return fail("bulk string not followed by CRLF");
      str.resize(str.size() - 2);
      bulk_ = nullptr;
    } else {
      const auto line = take_line();
      if (!line) {
        if (end_ - begin_ > kMaxLineBytes) return fail("reply line longer than 1 MiB");
        return std::optional<Reply>{};
      }
      if (line->empty()) return fail("empty reply line");
      const char type = line->front();
      const std::string_view payload = line->substr(1);
      switch (type) {
        case '+':
        case '-': {
          Reply& r = start_element();
          r.type = type == '+' ? Reply::Type::Status : Reply::Type::Error;
          r.str.assign(payload);
          break;
        }
        case ':': {
          const auto value = parse_int(payload);
          if (!value) return fail("bad integer reply");
          Reply& r = start_element();
          r.type = Reply::Type::Integer;
          r.integer = *value;
          break;
        }
        case '$': {
          const auto length = parse_int(payload);
          if (!length || *length < -1 || *length > kMaxBulkBytes) return fail("bad bulk length");
          Reply& r = start_element();
          if (*length == -1) {
            r.type = Reply::Type::Nil;
            break;
          }
          r.type = Reply::Type::String;
          // The payload and its CRLF are read into the string, then the CRLF is cut off.
          bulk_total_ = static_cast<std::size_t>(*length) + 2;
          r.str.resize(std::min(bulk_total_, kBulkFirstBytes));
          bulk_ = &r;
          bulk_filled_ = 0;
          continue;
        }
        case '*': {
          const auto count = parse_int(payload);
          if (!count || *count < -1 || *count > kMaxArrayElements) {
            return fail("bad array length");
          }
          if (stack_.size() >= kMaxDepth) return fail("arrays nested too deep");
          Reply& r = start_element();
          if (*count == -1) {
            r.type = Reply::Type::Nil;
            break;
          }
          r.type = Reply::Type::Array;
          if (*count == 0) break;
          const auto expected = static_cast<std::size_t>(*count);
          r.elements.reserve(std::min(expected, kArrayReserve));
          stack_.push_back({&r, expected});
          continue;
        }
        default:
          return fail("unknown reply type byte");
      }
    }
    if (finish_element()) {
      std::optional<Reply> done(std::move(root_));
      root_ = Reply{};
      return done;
    }
  }
}

}  // namespace cachecar::store::redis
