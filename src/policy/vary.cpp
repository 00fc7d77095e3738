#include "policy/vary.hpp"

#include "core/digest.hpp"
#include "core/stored_key.hpp"
#include "core/strings.hpp"

#include <algorithm>

namespace cachecar::policy {
namespace {

// Whether the body is the identity coding: no Content-Encoding, or only "identity" in it.
bool identity_body(const HeaderList& headers) {
  bool identity = true;
  for (const auto& [name, value] : headers) {
    if (!core::iequals(name, "content-encoding")) continue;
    core::for_each_list_item(value, [&](std::string_view coding) {
      if (!core::iequals(coding, "identity")) identity = false;
    });
  }
  return identity;
}

// An Accept-Encoding item with its whitespace removed and lower-cased: codings and the "q"
// weight are case-insensitive (RFC 9110 §12.5.3, §12.4.2), so "GZIP ; Q=0.5" is "gzip;q=0.5".
std::string normalized_coding(std::string_view item) {
  std::string out;
  out.reserve(item.size());
  for (char c : item) {
    if (c != ' ' && c != '\t') out.push_back(core::ascii_lower(c));
  }
  return out;
}

// Number of hex characters of the SHA-256 kept in a secondary key: 128 bits, far beyond any
// collision a client could search for among one key's variants.
constexpr std::size_t kKeyHexChars = 32;

}  // namespace

VarySpec vary_of(const HeaderList& response_headers) {
  VarySpec spec;
  for (const auto& [name, value] : response_headers) {
    if (!core::iequals(name, "vary")) continue;
    // Vary = #( "*" / field-name ) over every line (RFC 9110 §12.5.5, §5.3).
    core::for_each_list_item(value, [&](std::string_view field) {
      if (field == "*")
        spec.any = true;
      else
        spec.fields.push_back(core::to_lower(field));
    });
  }
  std::sort(spec.fields.begin(), spec.fields.end());
  spec.fields.erase(std::unique(spec.fields.begin(), spec.fields.end()), spec.fields.end());
  if (identity_body(response_headers)) {
    // The stored representation is then the same whatever the client accepts.
    spec.identity_accept_encoding = std::erase(spec.fields, "accept-encoding") > 0;
  }
  return spec;
}

std::optional<std::string> normalized_request_field(const HeaderList& request_headers,
                                                    std::string_view field) {
  bool present = false;
  std::vector<std::string> items;
  const bool accept_encoding = core::iequals(field, "accept-encoding");
  for (const auto& [name, value] : request_headers) {
    if (!core::iequals(name, field)) continue;
    present = true;
    // RFC 9110 §5.3: the lines of a field combine, in order, into one comma-separated list;
    // whitespace around the items and empty items carry no meaning (§5.6.1).
    core::for_each_list_item(value, [&](std::string_view item) {
      items.push_back(accept_encoding ? normalized_coding(item) : std::string(item));
    });
  }
  if (!present) return std::nullopt;
  // Each coding carries its own weight (§12.5.3): their order does not select anything.
  // Every other list keeps its order, which may be a preference (Accept-Language, §12.5.4).
  if (accept_encoding) std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string vary_secondary_key(const std::vector<std::string>& fields,
                               const HeaderList& request_headers) {
  // RFC 9111 §4.1: a stored response matches when every field Vary names has the same
  // normalised value in both requests, a field absent from both matching too. Names and
  // values cannot contain '\n' (RFC 9110 §5.5), and absence ("\x00") is distinct from any
  // value ("\x01" + value), so different inputs never give the same hashed text.
  std::string text;
  for (const auto& field : fields) {
    const auto name = core::to_lower(field);
    text += name;
    text += '\n';
    if (auto value = normalized_request_field(request_headers, name)) {
      text += '\x01';
      text += *value;
    } else {
      text += '\x00';
    }
    text += '\n';
  }
  std::string key(1, core::kSecondaryKeySeparator);
  auto hex = core::sha256_hex(text);
  if (hex.empty()) {
    // libcrypto failed: the text itself (hex, longer but still distinct per variant) under
    // another tag, never a value that different variants would share.
    key += "vary!=";
    key += core::to_hex(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    return key;
  }
  key += "vary=";
  key.append(hex, 0, kKeyHexChars);
  return key;
}

}  // namespace cachecar::policy
