#include "policy/compression.hpp"

#include "core/strings.hpp"
#include "policy/cache_control.hpp"

#include <algorithm>
#include <array>
#include <ostream>

namespace cachecar::policy {
namespace {

// One part of a pattern: a token without '*', or "*" alone (a wildcard).
bool is_pattern_part(std::string_view part) noexcept {
  return part == "*" || (is_http_token(part) && part.find('*') == std::string_view::npos);
}

bool is_gzip_coding(std::string_view coding) noexcept {
  // RFC 9110 §8.4.1.3: a recipient should treat x-gzip as gzip.
  return core::iequals(coding, "gzip") || core::iequals(coding, "x-gzip");
}

// Fields whose value is computed over the exact content bytes, which a change of content
// coding makes wrong (RFC 9530 §2, §3; RFC 1864).
bool describes_content_bytes(std::string_view name) noexcept {
  return core::iequals(name, "content-md5") || core::iequals(name, "content-digest") ||
         core::iequals(name, "repr-digest");
}

// Cache-Control: no-transform (RFC 9111 §5.2.2.6), on any Cache-Control line.
bool forbids_transform(const HeaderList& headers) noexcept {
  bool found = false;
  for (const auto& [name, value] : headers) {
    if (!core::iequals(name, "cache-control")) continue;
    core::for_each_list_item(value, [&](std::string_view directive) {
      const auto name_end = directive.find('=');
      if (core::iequals(core::trim(directive.substr(0, name_end)), "no-transform")) found = true;
    });
  }
  return found;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 §12.4.2), in
// thousandths; nullopt when invalid.
std::optional<int> parse_qvalue(std::string_view text) noexcept {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) return value;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value > 1000 ? std::nullopt : std::optional<int>(value);
}

// One Accept-Encoding member: codings [ OWS ";" OWS "q=" qvalue ] (RFC 9110 §12.5.3); the
// weight defaults to 1. nullopt: not of that form (ignored).
struct WeightedCoding {
  std::string_view coding;
  int weight = 1000;
};
std::optional<WeightedCoding> parse_member(std::string_view member) noexcept {
  WeightedCoding out;
  const auto semicolon = member.find(';');
  out.coding = core::trim(member.substr(0, semicolon));
  if (!is_http_token(out.coding)) return std::nullopt;
  if (semicolon == std::string_view::npos) return out;
  const std::string_view weight = core::trim(member.substr(semicolon + 1));
  if (weight.size() < 2 || core::ascii_lower(weight[0]) != 'q' || weight[1] != '=') {
    return std::nullopt;
  }
  const auto q = parse_qvalue(weight.substr(2));
  if (!q) return std::nullopt;
  out.weight = *q;
  return out;
}

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3): the opaque part without quotes.
std::optional<std::string_view> opaque_of(std::string_view etag) noexcept {
  etag = core::trim(etag);
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() < 2 || etag.front() != '"' || etag.back() != '"') return std::nullopt;
  const std::string_view opaque = etag.substr(1, etag.size() - 2);
  const bool valid = std::all_of(opaque.begin(), opaque.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x7e) || u >= 0x80;  // etagc
  });
  if (!valid) return std::nullopt;
  return opaque;
}

std::string weak_suffixed(std::string_view etag, std::string_view suffix) {
  const auto opaque = opaque_of(etag);
  if (!opaque) return {};
  std::string out = "W/\"";
  out += *opaque;
  out += suffix;
  out += '"';
  return out;
}

// Whether Vary already covers Accept-Encoding (named, or "*").
bool varies_on_encoding(const HeaderList& headers) noexcept {
  bool found = false;
  for (const auto& [name, value] : headers) {
    if (!core::iequals(name, "vary")) continue;
    core::for_each_list_item(value, [&](std::string_view field) {
      if (field == "*" || core::iequals(field, "accept-encoding")) found = true;
    });
  }
  return found;
}

}  // namespace

bool is_media_type_pattern(std::string_view pattern) noexcept {
  const auto slash = pattern.find('/');
  if (slash == std::string_view::npos) return false;
  const auto type = pattern.substr(0, slash);
  const auto subtype = pattern.substr(slash + 1);
  if (!is_pattern_part(type) || !is_pattern_part(subtype)) return false;
  return type != "*" || subtype == "*";  // "*/json" means nothing
}

bool matches_media_type(std::string_view content_type,
                        const std::vector<std::string>& patterns) noexcept {
  // media-type = type "/" subtype parameters (RFC 9110 §8.3.1); the parameters do not count.
  const std::string_view media = core::trim(content_type.substr(0, content_type.find(';')));
  const auto slash = media.find('/');
  if (slash == std::string_view::npos) return false;
  const auto type = media.substr(0, slash);
  const auto subtype = media.substr(slash + 1);
  if (!is_http_token(type) || !is_http_token(subtype)) return false;
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    const std::string_view p = pattern;
    const auto p_slash = p.find('/');
    if (p_slash == std::string_view::npos) return false;
    const auto p_type = p.substr(0, p_slash);
    const auto p_subtype = p.substr(p_slash + 1);
    if (p_type == "*") return true;  // "*/*"
    if (!core::iequals(p_type, type)) return false;
    return p_subtype == "*" || core::iequals(p_subtype, subtype);
  });
}

std::string_view to_string(BodyCoding coding) noexcept {
  switch (coding) {
    case BodyCoding::Identity:
      return "identity";
    case BodyCoding::Gzip:
      return "gzip";
    case BodyCoding::Other:
      return "other";
  }
  return "other";
}

std::ostream& operator<<(std::ostream& os, BodyCoding coding) {
  return os << to_string(coding);
}

BodyCoding body_coding(const HeaderList& response_headers) noexcept {
  std::size_t codings = 0;
  bool gzip = false;
  for (const auto& [name, value] : response_headers) {
    if (!core::iequals(name, "content-encoding")) continue;
    // Every line of the field is one list of the codings applied, in order (RFC 9110 §8.4).
    core::for_each_list_item(value, [&](std::string_view coding) {
      if (core::iequals(coding, "identity")) return;
      ++codings;
      gzip = is_gzip_coding(coding);
    });
  }
  if (codings == 0) return BodyCoding::Identity;
  return codings == 1 && gzip ? BodyCoding::Gzip : BodyCoding::Other;
}

bool accepts_gzip(std::optional<std::string_view> accept_encoding) noexcept {
  if (!accept_encoding) return false;
  std::optional<int> gzip, any, identity;  // the weights of the members that name them
  core::for_each_list_item(*accept_encoding, [&](std::string_view item) {
    const auto member = parse_member(item);
    if (!member) return;
    auto raise = [&](std::optional<int>& weight) {
      weight = std::max(weight.value_or(0), member->weight);
    };
    if (is_gzip_coding(member->coding)) {
      raise(gzip);
    } else if (member->coding == "*") {
      raise(any);
    } else if (core::iequals(member->coding, "identity")) {
      raise(identity);
    }
  });
  // "*" stands for every coding the field does not name, identity included (§12.5.3).
  const int gzip_weight = gzip.value_or(any.value_or(0));
  if (gzip_weight == 0) return false;
  const std::optional<int> identity_weight = identity ? identity : any;
  // A client that weights both alike gets the smaller representation.
  return !identity_weight || gzip_weight >= *identity_weight;
}

StoredCoding plan_compression(const CompressionConfig& config, const HeaderList& response_headers,
                              std::uint64_t body_bytes) noexcept {
  if (!config.enabled || body_bytes == 0 || forbids_transform(response_headers)) {
    return StoredCoding::AsReceived;
  }
  switch (body_coding(response_headers)) {
    case BodyCoding::Gzip:
      return StoredCoding::GzipFromUpstream;
    case BodyCoding::Other:
      return StoredCoding::AsReceived;
    case BodyCoding::Identity:
      break;
  }
  if (body_bytes < config.min_size_bytes) return StoredCoding::AsReceived;
  if (!matches_media_type(find_header(response_headers, "content-type"), config.types)) {
    return StoredCoding::AsReceived;
  }
  return StoredCoding::GzipByCache;
}

std::string gzip_etag(std::string_view etag) {
  return weak_suffixed(etag, "-gzip");
}

std::string identity_etag_of_gzip(std::string_view etag) {
  return weak_suffixed(etag, "-identity");
}

HeaderList gzip_representation_fields(const HeaderList& origin_fields, bool compressed_by_cache) {
  const bool add_vary = !varies_on_encoding(origin_fields);
  bool vary_done = false;
  HeaderList out;
  out.reserve(origin_fields.size() + 2);
  for (const auto& field : origin_fields) {
    const auto& [name, value] = field;
    if (core::iequals(name, "content-encoding")) continue;  // one line, appended below
    if (compressed_by_cache && describes_content_bytes(name)) continue;
    if (compressed_by_cache && core::iequals(name, "etag")) {
      auto etag = gzip_etag(value);
      if (!etag.empty()) out.emplace_back(name, std::move(etag));
      continue;
    }
    if (add_vary && !vary_done && core::iequals(name, "vary")) {
      // RFC 9110 §12.5.5: the representation sent depends on Accept-Encoding from now on.
      std::string combined(core::trim(value));
      if (!combined.empty()) combined += ", ";
      combined += "Accept-Encoding";
      out.emplace_back(name, std::move(combined));
      vary_done = true;
      continue;
    }
    out.push_back(field);
  }
  if (add_vary && !vary_done) out.emplace_back("Vary", "Accept-Encoding");
  out.emplace_back("Content-Encoding", "gzip");
  return out;
}

HeaderList identity_representation_fields(const HeaderList& gzip_fields,
                                          std::string_view identity_etag) {
  HeaderList out;
  out.reserve(gzip_fields.size() + 1);
  bool etag_placed = identity_etag.empty();
  for (const auto& field : gzip_fields) {
    const auto& name = field.first;
    if (core::iequals(name, "content-encoding") || describes_content_bytes(name)) continue;
    if (core::iequals(name, "etag")) {
      if (!etag_placed) out.emplace_back(name, std::string(identity_etag));
      etag_placed = true;
      continue;
    }
    out.push_back(field);
  }
  if (!etag_placed) out.emplace_back("ETag", std::string(identity_etag));
  return out;
}

std::string identity_etag_for(StoredCoding coding, const HeaderList& origin_fields) {
  const std::string_view etag = core::trim(find_header(origin_fields, "etag"));
  switch (coding) {
    case StoredCoding::GzipByCache:
      return std::string(etag);
    case StoredCoding::GzipFromUpstream:
      return identity_etag_of_gzip(etag);
    case StoredCoding::AsReceived:
      break;
  }
  return {};
}

std::string_view origin_etag(const EntryView& entry) noexcept {
  if (entry.coding == StoredCoding::GzipByCache) return entry.identity_etag;
  return entry_field(entry.head, "etag");
}

HeaderList origin_fields(const EntryView& entry, const HeaderList& stored_fields) {
  if (entry.coding != StoredCoding::GzipByCache) return stored_fields;
  return identity_representation_fields(stored_fields, entry.identity_etag);
}

}  // namespace cachecar::policy
