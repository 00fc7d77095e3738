#include "store/redis/resp.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <cstdlib>
#include <iomanip>
#include <memory>
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

// Reply-building callbacks: hiredis hands us each item with its parent task. Children are
// constructed in place inside their parent's pre-sized `elements`, so only the root is a
// separate allocation and freeing the root frees the whole tree (hiredis only ever frees the
// root: on error, or when the reader is destroyed mid-reply).
Reply* place(const redisReadTask* task) noexcept {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    return &parent->elements[static_cast<std::size_t>(task->idx)];
  }
  return new (std::nothrow) Reply();
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  Reply* r = place(task);
  if (r == nullptr) return nullptr;
  switch (task->type) {
    case REDIS_REPLY_ERROR:
      r->type = Reply::Type::Error;
      break;
    case REDIS_REPLY_STATUS:
      r->type = Reply::Type::Status;
      break;
    default:
      r->type = Reply::Type::String;
      break;
  }
  try {
    r->str.assign(str, len);
  } catch (...) {
    if (task->parent == nullptr) delete r;
    return nullptr;  // hiredis reports out-of-memory
  }
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  Reply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::Array;
  try {
    r->elements.resize(static_cast<std::size_t>(elements));
  } catch (...) {
    if (task->parent == nullptr) delete r;
    return nullptr;
  }
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  Reply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::Integer;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  Reply* r = place(task);
  if (r == nullptr) return nullptr;
  r->type = Reply::Type::Nil;
  return r;
}

void free_object(void* obj) {
  delete static_cast<Reply*>(obj);
}

redisReplyObjectFunctions kReplyFunctions = {create_string, create_array, create_integer,
                                             create_nil, free_object};

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

ReplyParser::ReplyParser() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyParser::~ReplyParser() {
  redisReaderFree(reader_);
}

boost::system::error_code ReplyParser::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) {
    return errc::store_protocol_error;
  }
  return {};
}

result<std::optional<Reply>> ReplyParser::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return errc::store_protocol_error;
  if (raw == nullptr) return std::optional<Reply>{};
  // Take ownership of the root, then move it out so callers get a plain value.
  std::unique_ptr<Reply> root(static_cast<Reply*>(raw));
  return std::optional<Reply>(std::move(*root));
}

std::string_view ReplyParser::error_message() const noexcept {
  return reader_->err != 0 ? std::string_view(reader_->errstr) : std::string_view();
}

}  // namespace cachecar::store::redis
