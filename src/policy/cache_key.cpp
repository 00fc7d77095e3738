#include "policy/cache_key.hpp"

#include "core/strings.hpp"

#include <algorithm>
#include <tuple>

namespace cachecar::policy {
namespace {

struct QueryParam {
  std::string name;
  std::string value;
  bool has_value = false;
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes. A '%' not followed by two hex digits stays a literal '%'. '+' is kept as a
// literal '+' (RFC 3986 has no "+ means space"; only HTML form encoding does, and treating it
// as a space would merge "q=a+b" with "q=a%20b", two requests an upstream may answer
// differently). Re-encoding then writes it as %2B, so "q=a+b" and "q=a%2Bb" share a key.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void percent_encode_to(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0f];
    }
  }
}

// Calls fn(item) for each non-empty '&'-separated item of a raw query.
template <class Fn>
void for_each_query_item(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (!item.empty()) fn(item);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

std::string_view raw_name(std::string_view item) {
  return item.substr(0, item.find('='));
}

}  // namespace

std::string build_cache_key(std::string_view method, std::string_view path,
                            std::string_view raw_query,
                            const std::optional<std::vector<std::string>>& key_query,
                            std::string_view bypass_param) {
  std::vector<QueryParam> params;
  if (!key_query || !key_query->empty()) {
    for_each_query_item(raw_query, [&](std::string_view item) {
      const auto eq = item.find('=');
      QueryParam param;
      param.name = percent_decode(item.substr(0, eq));
      if (!bypass_param.empty() && param.name == bypass_param) return;
      if (key_query &&
          std::find(key_query->begin(), key_query->end(), param.name) == key_query->end()) {
        return;
      }
      if (eq != std::string_view::npos) {
        param.has_value = true;
        param.value = percent_decode(item.substr(eq + 1));
      }
      params.push_back(std::move(param));
    });
  }
  std::sort(params.begin(), params.end(), [](const QueryParam& a, const QueryParam& b) {
    return std::tie(a.name, a.has_value, a.value) < std::tie(b.name, b.has_value, b.value);
  });

  std::string key;
  key.reserve(method.size() + 1 + path.size() + raw_query.size() + 1);
  key += method;
  key += ':';
  key += path;
  for (std::size_t i = 0; i < params.size(); ++i) {
    key += i == 0 ? '?' : '&';
    percent_encode_to(key, params[i].name);
    if (params[i].has_value) {
      key += '=';
      percent_encode_to(key, params[i].value);
    }
  }
  return key;
}

std::string remove_query_param(std::string_view raw_query, std::string_view param) {
  std::string out;
  out.reserve(raw_query.size());
  for_each_query_item(raw_query, [&](std::string_view item) {
    if (percent_decode(raw_name(item)) == param) return;
    if (!out.empty()) out += '&';
    out += item;
  });
  return out;
}

bool query_flag_set(std::string_view raw_query, std::string_view param) {
  bool set = false;
  for_each_query_item(raw_query, [&](std::string_view item) {
    if (set || percent_decode(raw_name(item)) != param) return;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      set = true;
      return;
    }
    const std::string value = percent_decode(item.substr(eq + 1));
    set = core::iequals(value, "true") || value == "1";
  });
  return set;
}

Target split_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return Target{target, {}};
  return Target{target.substr(0, question), target.substr(question + 1)};
}

}  // namespace cachecar::policy
