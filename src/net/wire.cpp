#include "net/wire.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace cachecar::net {

std::string_view reason_phrase(int status) noexcept {
  auto text = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  return text.empty() ? std::string_view("Unknown") : std::string_view(text.data(), text.size());
}

void append_status_line(std::string& out, int status, std::string_view reason) {
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  (void)ec;
  out.append("HTTP/1.1 ");
  out.append(digits, end);
  out.push_back(' ');
  out.append(reason.empty() ? reason_phrase(status) : reason);
  out.append("\r\n");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void append_field(std::string& out, std::string_view name, unsigned long long value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  append_field(out, name, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

std::string render_response(int status, std::string_view content_type, std::string_view body,
                            bool keep_alive, std::string_view extra_fields) {
  std::string out;
  out.reserve(128 + extra_fields.size() + body.size());
  append_status_line(out, status);
  if (!content_type.empty()) append_field(out, "Content-Type", content_type);
  append_field(out, "Content-Length", static_cast<unsigned long long>(body.size()));
  if (!keep_alive) append_field(out, "Connection", "close");
  out.append(extra_fields);
  out.append("\r\n");
  out.append(body);
  return out;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
}

std::string json_error_body(std::string_view code, std::string_view detail) {
  std::string out = "{\"error\": \"";
  append_json_escaped(out, code);
  out.append("\", \"detail\": \"");
  append_json_escaped(out, detail);
  out.append("\"}");
  return out;
}

}  // namespace cachecar::net
