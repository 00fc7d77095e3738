#include "policy/cache_key.hpp"

#include "core/stored_key.hpp"
#include "core/strings.hpp"
#include "policy/uri.hpp"

#include <algorithm>

namespace cachecar::policy {
namespace {

// One query param in normalised form (RFC 3986 §6.2.2); the name is text[0, name_size).
struct QueryParam {
  std::string text;
  std::size_t name_size = 0;
  std::string_view name() const noexcept { return std::string_view(text).substr(0, name_size); }
};

// A query name or value as the origin reads it; a malformed '%' is kept as it is, since the
// key must not refuse a request that the origin may accept.
std::string decoded(std::string_view text) {
  return *percent_decode(text, MalformedEscape::Keep);
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
      const std::string name = decoded(raw_name(item));
      if (!bypass_param.empty() && name == bypass_param) return;
      if (key_query && std::find(key_query->begin(), key_query->end(), name) == key_query->end()) {
        return;
      }
      QueryParam param;
      param.text.reserve(item.size());
      append_normalized_query_part(param.text, item);
      param.name_size = std::min(param.text.find('='), param.text.size());
      params.push_back(std::move(param));
    });
  }
  // By name only, and stable: repeated params keep their order, which carries meaning
  // ("page=1&page=2" may be read as the last value, or as a list).
  std::stable_sort(params.begin(), params.end(),
                   [](const QueryParam& a, const QueryParam& b) { return a.name() < b.name(); });

  std::string key;
  key.reserve(method.size() + 1 + path.size() + raw_query.size() + 1);
  key += method;
  key += ':';
  key += path;
  for (std::size_t i = 0; i < params.size(); ++i) {
    key += i == 0 ? '?' : '&';
    key += params[i].text;
  }
  return key;
}

std::string remove_query_param(std::string_view raw_query, std::string_view param) {
  std::string out;
  out.reserve(raw_query.size());
  for_each_query_item(raw_query, [&](std::string_view item) {
    if (decoded(raw_name(item)) == param) return;
    if (!out.empty()) out += '&';
    out += item;
  });
  return out;
}

bool query_flag_set(std::string_view raw_query, std::string_view param) {
  bool set = false;
  for_each_query_item(raw_query, [&](std::string_view item) {
    if (set || decoded(raw_name(item)) != param) return;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      set = true;
      return;
    }
    const std::string value = decoded(item.substr(eq + 1));
    set = core::iequals(value, "true") || value == "1";
  });
  return set;
}

bool HostAliases::add(const std::string& canonical, const std::vector<std::string>& aliases) {
  auto map = [this, &canonical](const std::string& name) {
    auto [it, inserted] = names_.try_emplace(name, canonical);
    return inserted || it->second == canonical;
  };
  bool ok = map(canonical);
  for (const auto& alias : aliases) ok = map(alias) && ok;
  return ok;
}

std::optional<std::string_view> HostAliases::canonical(std::string_view host) const {
  if (names_.empty()) return host;
  auto it = names_.find(host);
  if (it == names_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string variant_key(std::string_view logical_key, std::string_view host) {
  constexpr std::string_view kHostField = "host=";
  std::string key;
  key.reserve(logical_key.size() + 1 + kHostField.size() + host.size());
  key += logical_key;
  key += core::kSecondaryKeySeparator;
  key += kHostField;
  key += host;
  return key;
}

Target split_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return Target{target, {}};
  return Target{target.substr(0, question), target.substr(question + 1)};
}

}  // namespace cachecar::policy
