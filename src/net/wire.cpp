#include "net/wire.hpp"

#include "core/reason_phrase.hpp"

#include <charconv>

namespace cachecar::net {

void append_status_line(std::string& out, int status, std::string_view reason) {
  char digits[8];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, status);
  (void)ec;
  out.append("HTTP/1.1 ");
  out.append(digits, end);
  out.push_back(' ');
  out.append(reason.empty() ? core::reason_phrase(status) : reason);
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

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return length;
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // JSON text must be UTF-8: bytes that are not (a raw byte in a request path, say)
      // become U+FFFD instead of making the whole document unparseable.
      if (const auto length = utf8_sequence_length(text, i)) {
        out.append(text.substr(i, length));
        i += length - 1;
      } else {
        out.append("\\ufffd");
      }
      continue;
    }
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
