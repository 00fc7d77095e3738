#include "policy/uri.hpp"

#include "core/strings.hpp"

#include <charconv>

namespace cachecar::policy {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.3.
bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 §2.2.
bool is_sub_delim(unsigned char c) noexcept {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

enum class Part { Path, Query };

// What may appear literally: path = pchar and '/', query = pchar, '/' and '?' (RFC 3986 §3.3,
// §3.4); pchar = unreserved / sub-delims / ':' / '@'.
bool is_literal(unsigned char c, Part part) noexcept {
  return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' ||
         (part == Part::Query && c == '?');
}

void append_escape(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 0x0f];
}

// §6.2.2.1 and §6.2.2.2: decode escaped unreserved characters, upper-case the other escapes;
// bytes not allowed literally are escaped. A '%' without two hex digits is a literal '%' (what a
// lenient origin reads), so it is written "%25" and counted as malformed: written as it is, it
// could form an escape with what follows ("%%34%31" would become "%41") and the result would
// no longer normalise to itself.
bool append_normalized(std::string& out, std::string_view text, Part part) {
  bool well_formed = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        well_formed = false;
        append_escape(out, '%');
        continue;
      }
      const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (is_unreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        append_escape(out, decoded);
      }
      i += 2;
    } else if (is_literal(c, part)) {
      out += static_cast<char>(c);
    } else {
      append_escape(out, c);
    }
  }
  return well_formed;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, TargetStatus status) {
  switch (status) {
    case TargetStatus::Ok:
      return os << "Ok";
    case TargetStatus::NotOriginForm:
      return os << "NotOriginForm";
    case TargetStatus::MalformedEscape:
      return os << "MalformedEscape";
  }
  return os << "TargetStatus(" << static_cast<int>(status) << ")";
}

NormalizedTarget normalize_target(std::string_view target) {
  NormalizedTarget n;
  if (target.empty() || target.front() != '/') {
    n.status = TargetStatus::NotOriginForm;
    return n;
  }
  const auto question = target.find('?');
  std::string path;
  path.reserve(target.size());
  bool well_formed = append_normalized(path, target.substr(0, question), Part::Path);
  // §6.2.2.3: after the escapes are normalised, so that "%2E%2E" is a dot segment too.
  n.target = remove_dot_segments(path);
  n.path_size = n.target.size();
  if (question != std::string_view::npos) {
    n.has_query = true;
    n.target += '?';
    well_formed =
        append_normalized(n.target, target.substr(question + 1), Part::Query) && well_formed;
  }
  if (!well_formed) {
    n.status = TargetStatus::MalformedEscape;
    n.target.clear();
    n.path_size = 0;
    n.has_query = false;
  }
  return n;
}

std::string normalize_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  append_normalized(out, path, Part::Path);
  return remove_dot_segments(out);
}

bool append_normalized_query_part(std::string& out, std::string_view text) {
  return append_normalized(out, text, Part::Query);
}

// RFC 3986 §5.2.4, step by step: the input buffer is consumed from the left and whole segments
// move to the output; ".." also removes the last output segment.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto pop_last_segment = [&out] {
    const auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {  // A
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {  // B
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {  // C
      in.remove_prefix(3);
      pop_last_segment();
    } else if (in == "/..") {
      in = "/";
      pop_last_segment();
    } else if (in == "." || in == "..") {  // D
      in = {};
    } else {  // E: the first segment, with its leading '/', moves to the output
      const auto next = in.find('/', 1);
      const auto segment = in.substr(0, next);
      out.append(segment);
      in.remove_prefix(segment.size());
    }
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, MalformedEscape mode) {
  switch (mode) {
    case MalformedEscape::Keep:
      return os << "Keep";
    case MalformedEscape::Reject:
      return os << "Reject";
  }
  return os << "MalformedEscape(" << static_cast<int>(mode) << ")";
}

std::optional<std::string> percent_decode(std::string_view text, MalformedEscape mode) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
      if (mode == MalformedEscape::Reject) return std::nullopt;
    }
    out += text[i];
  }
  return out;
}

std::optional<std::string> normalize_host(std::string_view value) {
  value = core::trim(value);
  // uri-host: IP-literal ("[" ... "]") or reg-name / IPv4address, then an optional ":" port.
  std::string_view host = value;
  std::string_view port;
  if (value.starts_with('[')) {
    const auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = value.substr(0, close + 1);
    const auto rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
    for (char ch : host.substr(1, host.size() - 2)) {
      const auto c = static_cast<unsigned char>(ch);
      if (!(is_unreserved(c) || is_sub_delim(c) || c == ':')) return std::nullopt;
    }
  } else {
    const auto colon = value.find(':');
    host = value.substr(0, colon);
    if (colon != std::string_view::npos) port = value.substr(colon + 1);
    // A percent-encoded reg-name is legal but never seen in practice; refusing it keeps one
    // spelling per host.
    for (char ch : host) {
      const auto c = static_cast<unsigned char>(ch);
      if (!(is_unreserved(c) || is_sub_delim(c))) return std::nullopt;
    }
  }
  if (host.empty()) return std::nullopt;

  std::string out = core::to_lower(host);
  if (!port.empty()) {
    unsigned number = 0;
    const auto* end = port.data() + port.size();
    auto [ptr, ec] = std::from_chars(port.data(), end, number);
    if (ec != std::errc{} || ptr != end || number > 65535 || port.front() == '+') {
      return std::nullopt;
    }
    // §6.2.3: the scheme's default port (cachecar's listener speaks plain HTTP) is the same as
    // none at all.
    if (number != 80) {
      out += ':';
      out += std::to_string(number);
    }
  }
  return out;
}

}  // namespace cachecar::policy
