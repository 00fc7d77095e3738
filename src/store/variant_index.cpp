#include "store/variant_index.hpp"

#include "core/stored_key.hpp"

namespace cachecar::store {

namespace {

// A field name as policy::vary_of gives it: a lower-case RFC 9110 §5.6.2 token.
bool valid_field(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A secondary key: the separator, then anything but a line break.
bool valid_member(std::string_view member) noexcept {
  return member.size() > 1 && member.front() == core::kSecondaryKeySeparator &&
         member.find('\n') == std::string_view::npos;
}

// The fields line split at ',' (strict: empty or invalid names reject the whole index).
std::optional<std::vector<std::string>> parse_fields(std::string_view line) {
  std::vector<std::string> fields;
  while (true) {
    const std::size_t comma = line.find(',');
    const std::string_view name = line.substr(0, comma);
    if (!valid_field(name)) return std::nullopt;
    fields.emplace_back(name);
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

// The fields line and the member lines of a well-formed index, or nullopt.
struct Parsed {
  std::vector<std::string> fields;
  std::vector<std::string> members;
};

std::optional<Parsed> parse(std::string_view value) {
  if (!is_variant_index(value)) return std::nullopt;
  value.remove_prefix(kVariantIndexMagic.size());
  const std::size_t eol = value.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  auto fields = parse_fields(value.substr(0, eol));
  if (!fields) return std::nullopt;
  Parsed parsed{std::move(*fields), {}};
  value.remove_prefix(eol + 1);
  while (!value.empty()) {
    const std::size_t end = value.find('\n');
    if (end == std::string_view::npos) return std::nullopt;  // every member ends with '\n'
    const std::string_view member = value.substr(0, end);
    if (!valid_member(member)) return std::nullopt;
    parsed.members.emplace_back(member);
    value.remove_prefix(end + 1);
  }
  return parsed;
}

}  // namespace

std::optional<std::vector<std::string>> variant_index_fields(std::string_view value) {
  auto parsed = parse(value);
  if (!parsed) return std::nullopt;
  return std::move(parsed->fields);
}

std::vector<std::string> variant_index_members(std::string_view value) {
  auto parsed = parse(value);
  if (!parsed) return {};
  return std::move(parsed->members);
}

std::optional<std::string_view> variant_secondary_key(const VariantFill& variant) {
  if (variant.fields.empty()) return std::nullopt;
  for (const auto& field : variant.fields) {
    if (!valid_field(field)) return std::nullopt;
  }
  if (!variant.variant_key.starts_with(variant.primary_key)) return std::nullopt;
  const std::string_view secondary =
      std::string_view(variant.variant_key).substr(variant.primary_key.size());
  if (!valid_member(secondary)) return std::nullopt;
  return secondary;
}

std::string encode_variant_index(const std::vector<std::string>& fields,
                                 const std::vector<std::string>& variants) {
  std::string out(kVariantIndexMagic);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) out += ',';
    out += fields[i];
  }
  out += '\n';
  for (const auto& variant : variants) {
    out += variant;
    out += '\n';
  }
  return out;
}

}  // namespace cachecar::store
