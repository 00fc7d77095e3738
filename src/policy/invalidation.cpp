#include "policy/invalidation.hpp"

#include "core/strings.hpp"
#include "policy/uri.hpp"

#include <algorithm>

namespace cachecar::policy {
namespace {

std::string_view strip_query_and_fragment(std::string_view ref) {
  return ref.substr(0, ref.find_first_of("?#"));
}

}  // namespace

bool is_invalidating_method(std::string_view method) noexcept {
  // Unknown methods count as unsafe (RFC 9111 §4.4): WebDAV's LOCK or MKCOL, PURGE, BAN, ...
  return method != "GET" && method != "HEAD" && method != "OPTIONS" && method != "TRACE";
}

bool is_invalidating_status(int status) noexcept {
  return status >= 200 && status < 400;
}

std::string resolve_same_host_path(std::string_view reference, std::string_view request_host,
                                   std::string_view base_path) {
  reference = core::trim(strip_query_and_fragment(core::trim(reference)));
  if (reference.empty()) return {};
  for (std::string_view scheme : {"http://", "https://"}) {
    if (reference.size() >= scheme.size() &&
        core::iequals(reference.substr(0, scheme.size()), scheme)) {
      auto rest = reference.substr(scheme.size());
      auto slash = rest.find('/');
      auto authority = rest.substr(0, slash);
      if (request_host.empty() || !core::iequals(authority, request_host)) return {};
      return slash == std::string_view::npos ? "/" : normalize_path(rest.substr(slash));
    }
  }
  if (reference.starts_with("//")) return {};  // network-path reference: another authority
  if (reference.find(':') < reference.find('/')) return {};  // another scheme (mailto:, ftp:)
  if (reference.front() == '/') return normalize_path(reference);
  auto dir = base_path.substr(0, base_path.rfind('/') + 1);
  return normalize_path(std::string(dir) + std::string(reference));
}

std::vector<EraseSpec> invalidation_targets(const Rule* rule, const Params& params,
                                            const WriteResponse& write) {
  std::vector<EraseSpec> targets;
  auto add = [&targets](EraseSpec spec) {
    auto same = [&spec](const EraseSpec& other) {
      return other.kind == spec.kind && other.key == spec.key;
    };
    if (std::none_of(targets.begin(), targets.end(), same)) targets.push_back(std::move(spec));
  };
  if (rule) {
    for (const auto& tmpl : rule->invalidate) add(tmpl.fill(params));
    // A capture that makes an invalid tag names nothing a response could have been tagged with.
    for (auto& tag : fill_tags(rule->invalidate_tags, params)) {
      if (is_valid_tag(tag)) add({EraseSpec::Kind::Tag, std::move(tag)});
    }
  }
  add({EraseSpec::Kind::PathAndVariants, "GET:" + std::string(write.request_path)});
  for (auto header : {write.location, write.content_location}) {
    auto path = resolve_same_host_path(header, write.request_host, write.request_path);
    if (!path.empty()) add({EraseSpec::Kind::PathAndVariants, "GET:" + path});
  }
  return targets;
}

}  // namespace cachecar::policy
